// Package cliconfig reads the settings of the llmops CLI itself, as
// opposed to a configuration's: the CLI configuration file
// ($LLMOPS_CLI_CONFIG_FILE, else ~/.llmopsrc) and $LLMOPS_DEV_OVERRIDES.
// Today it holds the provider development overrides, as Terraform's
// dev_overrides:
//
//	provider_installation {
//	  dev_overrides {
//	    "echo" = "/home/me/provider-echo"   # a directory or the binary
//	  }
//	}
//
// and LLMOPS_DEV_OVERRIDES=echo=/home/me/provider-echo/llmops-provider-echo
// (comma-separated, winning over the file). An overridden provider is run
// from that path as it is built, without `llmops init -upgrade` and
// without the lock file's checksum.
//
// The boundary: it reads files and the environment given to it and
// returns values and hcl diagnostics; it knows nothing of commands,
// discovery or the lock file.
package cliconfig
