// Package lang is the expression language of llmops configurations: the
// function table (the cty stdlib plus file, filesha256, templatefile,
// jsonencode, ...), parsing of references (`var.x`, `local.y`,
// `training_run.ft.output_model`, `count.index`, `each.key`, `path.root`)
// into typed form, and evaluation of expressions and bodies against a
// Scope that supplies the referenced values.
//
// It does not decide evaluation order, talk to providers or read state: the
// caller implements Data to hand over values it already has.
package lang
