package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Plan writes a plan for people: drift first, then each change as an
// attribute-level diff, the output changes and the summary line.
func Plan(w io.Writer, p *plans.Plan, c *Colors) {
	var b strings.Builder
	if len(p.Drift) > 0 {
		b.WriteString(c.Bold("Objects have changed outside of llmops") + "\n\n")
		b.WriteString("llmops found these changes made outside of llmops since the last apply:\n\n")
		for _, ch := range p.Drift {
			writeDrift(&b, ch, c)
		}
		if p.Mode == plans.RefreshOnlyMode {
			b.WriteString("This is a refresh-only plan: applying it records these changes in the state and changes nothing else.\n\n")
		} else {
			b.WriteString("The changes below take these into account.\n\n")
		}
	}
	for _, n := range p.Notes {
		b.WriteString(c.Warn("Note: ") + n + "\n")
	}
	if len(p.Notes) > 0 {
		b.WriteString("\n")
	}
	deferred := DeferredReads(p)
	changes := len(p.Deposed) + len(deferred)
	for _, ch := range p.Changes {
		if ch.Action != plans.NoOp || ch.PrevAddr != nil {
			changes++
		}
	}
	if changes == 0 {
		if p.Mode == plans.RefreshOnlyMode && len(p.Drift) > 0 {
			io.WriteString(w, b.String())
			return
		}
		if !outputsChanged(p) {
			b.WriteString(c.Bold("No changes.") + " Reality matches the configuration.\n")
			io.WriteString(w, b.String())
			return
		}
	}
	if changes > 0 {
		writeLegend(&b, p, c)
		b.WriteString("llmops will perform the following actions:\n\n")
		for _, ch := range deferred {
			writeChange(&b, ch, c)
		}
		for _, ch := range p.Changes {
			if ch.Action == plans.NoOp && ch.PrevAddr == nil {
				continue
			}
			writeChange(&b, ch, c)
		}
		for _, ch := range p.Deposed {
			writeChange(&b, ch, c)
		}
		cnt := p.Counts()
		fmt.Fprintf(&b, "%s %d to add, %d to change, %d to replace, %d to destroy.", c.Bold("Plan:"), cnt.Add, cnt.Change, cnt.Replace, cnt.Destroy)
		if cnt.Wait > 0 {
			fmt.Fprintf(&b, " %d still running.", cnt.Wait)
		}
		if cnt.Move > 0 {
			fmt.Fprintf(&b, " %d to move.", cnt.Move)
		}
		b.WriteString("\n")
	}
	if outputsChanged(p) {
		b.WriteString("\nChanges to Outputs:\n")
		d := &differ{b: &b, c: c, gutter: "  "}
		w := 0
		for _, o := range p.Outputs {
			if o.Action != plans.NoOp && len(o.Name) > w {
				w = len(o.Name)
			}
		}
		for _, o := range p.Outputs {
			bv, av := o.Before, o.After
			if o.Sensitive {
				bv, av = markAll(bv), markAll(av)
			}
			switch o.Action {
			case plans.Create:
				if isNullish(av) {
					// Not "~ name = null -> null": an output created null.
					d.b.WriteString(d.lead(0) + d.sym(symAdd) + " " + pad(o.Name, w) + " = null\n")
					continue
				}
				d.attr(o.Name, w, cty.NilVal, av, -1, nil)
			case plans.Delete:
				d.attr(o.Name, w, bv, cty.NilVal, -1, nil)
			case plans.Update:
				d.attr(o.Name, w, bv, av, -1, nil)
			}
		}
		if changes == 0 {
			b.WriteString("\nYou can apply this plan to save these new output values, without changing any real objects.\n")
		}
	}
	io.WriteString(w, b.String())
}

// DeferredReads are the data sources the plan leaves to apply (their
// configuration depends on values known only then): shown, like changes.
// Those read during plan are not shown.
func DeferredReads(p *plans.Plan) []*plans.ResourceInstanceChange {
	var out []*plans.ResourceInstanceChange
	for _, ch := range p.DataReads {
		if ch.Reason == plans.ReasonReadDuringApply {
			out = append(out, ch)
		}
	}
	return out
}

func outputsChanged(p *plans.Plan) bool {
	for _, o := range p.Outputs {
		if o.Action != plans.NoOp {
			return true
		}
	}
	return false
}

func markAll(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return v
	}
	return v.Mark(sensitiveMarkValue())
}

// header is "resource "TYPE" "NAME"" or "KIND "NAME"".
func header(a addrs.ResourceInstance) string {
	r := a.Resource
	if r.IsData() {
		return fmt.Sprintf("data %q %q", r.Type, r.Name)
	}
	if r.IsKind() {
		return fmt.Sprintf("%s %q", r.Type, r.Name)
	}
	return fmt.Sprintf("resource %q %q", r.Type, r.Name)
}

// ActionPhrase is how the plan announces an action.
func ActionPhrase(ch *plans.ResourceInstanceChange) string {
	switch ch.Action {
	case plans.Create:
		return "will be created"
	case plans.Update:
		return "will be updated in place"
	case plans.DeleteThenCreate:
		return "must be replaced"
	case plans.CreateThenDelete:
		return "must be replaced"
	case plans.Delete:
		return "will be destroyed"
	case plans.Read:
		return "will be read during apply"
	case plans.Wait:
		if ch.PendingStatus == "finished" {
			return "finished in the background; apply records the result"
		}
		return "is still running; apply waits for it"
	}
	return "has no changes"
}

// ReasonText explains why, or "".
func ReasonText(ch *plans.ResourceInstanceChange) string {
	switch ch.Reason {
	case plans.ReasonTainted:
		return "it is tainted: an earlier create or replace failed part-way"
	case plans.ReasonCreateInterrupted:
		return "its creation was interrupted before llmops recorded the result"
	case plans.ReasonReplaceRequested:
		return "replacement was requested with -replace"
	case plans.ReasonRequiresReplace:
		var names []string
		for _, p := range ch.RequiresReplace {
			names = append(names, protocol.PathString(p))
		}
		return "a change to " + strings.Join(names, ", ") + " forces replacement"
	case plans.ReasonRemovedFromConfig:
		return fmt.Sprintf("%s is not in the configuration", ch.Addr.Resource)
	case plans.ReasonCountIndex:
		return fmt.Sprintf("index %s is beyond the count", ch.Addr.Key)
	case plans.ReasonEachKey:
		return fmt.Sprintf("key %s is not in for_each", ch.Addr.Key)
	case plans.ReasonModuleInstanceRemoved:
		return fmt.Sprintf("%s is not in its module call's count or for_each", ch.Addr.Resource.Module)
	case plans.ReasonRollback:
		return "rollback"
	case plans.ReasonReadDuringApply:
		return "its configuration depends on values known only after apply"
	case plans.ReasonDeposed:
		return "the old object of a create_before_destroy replacement, whose destroy did not finish; it goes once its replacement exists"
	}
	return ""
}

// legend is what each action's symbol means, in the order the legend
// lists them.
var legend = []struct {
	action plans.Action
	text   string
}{
	{plans.Create, "create"},
	{plans.Update, "update in-place"},
	{plans.Delete, "destroy"},
	{plans.DeleteThenCreate, "destroy and then create replacement"},
	{plans.CreateThenDelete, "create replacement and then destroy"},
	{plans.Wait, "wait for a job that is still running"},
	{plans.Read, "read (data resources)"},
}

// writeLegend explains the symbols the plan uses, as Terraform does.
func writeLegend(b *strings.Builder, p *plans.Plan, c *Colors) {
	used := map[plans.Action]bool{}
	for _, ch := range p.Changes {
		used[ch.Action] = true
	}
	for _, ch := range p.Deposed {
		used[ch.Action] = true
	}
	if len(DeferredReads(p)) > 0 {
		used[plans.Read] = true
	}
	var lines []string
	for _, l := range legend {
		if used[l.action] {
			lines = append(lines, symbolFor(l.action, c)+" "+l.text+"\n")
		}
	}
	if len(lines) == 0 {
		return // only moves (or no-ops): no symbol to explain
	}
	b.WriteString("Resource actions are indicated with the following symbols:\n")
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}

func symbolFor(a plans.Action, c *Colors) string {
	switch a {
	case plans.Create:
		return c.Add("  +")
	case plans.Delete:
		return c.Del("  -")
	case plans.Update:
		return c.Chg("  ~")
	case plans.DeleteThenCreate:
		return c.Del("-") + "/" + c.Add("+")
	case plans.CreateThenDelete:
		return c.Add("+") + "/" + c.Del("-")
	case plans.Wait:
		return c.Chg("  …")
	case plans.Read:
		return c.Add(" <=")
	}
	return "   "
}

func writeChange(b *strings.Builder, ch *plans.ResourceInstanceChange, c *Colors) {
	name := ch.Addr.String()
	if ch.DeposedKey != "" {
		name += " (deposed object " + ch.DeposedKey + ")"
	}
	if ch.PrevAddr != nil && ch.Action == plans.NoOp {
		// Only the address changes: nothing is replaced or run again.
		fmt.Fprintf(b, "  # %s has moved to %s\n\n", c.Bold(ch.PrevAddr.String()), c.Bold(name))
		return
	}
	line := fmt.Sprintf("  # %s %s", c.Bold(name), ActionPhrase(ch))
	if r := ReasonText(ch); r != "" {
		line += " (" + r + ")"
	}
	if ch.PrevAddr != nil {
		line += " (moved from " + ch.PrevAddr.String() + ")"
	}
	b.WriteString(line + "\n")
	writePlacement(b, ch.Placement, c)
	if ch.Action == plans.Wait {
		status := ch.PendingStatus
		if ch.PendingMessage != "" {
			status += ": " + ch.PendingMessage
		}
		if status != "" {
			b.WriteString("    " + c.Dim(status) + "\n")
		}
		b.WriteString("\n")
		return
	}
	writeChangeBody(b, ch, c)
}

// writeChangeBody writes the block with its attribute diff.
func writeChangeBody(b *strings.Builder, ch *plans.ResourceInstanceChange, c *Colors) {
	b.WriteString(symbolFor(ch.Action, c) + " " + header(ch.Addr) + " {\n")
	d := &differ{b: b, c: c, forces: ch.RequiresReplace, gutter: "  "}
	showAll := ch.Action == plans.Create || ch.Action == plans.Delete || ch.Action == plans.Read
	before, after := ch.Before, ch.After
	if ch.Action == plans.Delete {
		after = cty.NilVal
	}
	if ch.Action == plans.Create || ch.Action == plans.Read {
		before = cty.NilVal
	}
	before, after = withWriteOnlySet(ch, before, after)
	hidden := d.attrs(nilToNull(before), nilToNull(after), 0, nil, showAll)
	if hidden > 0 {
		b.WriteString("        " + c.Dim(fmt.Sprintf("# (%d unchanged %s hidden)", hidden, plural(hidden, "attribute"))) + "\n")
	}
	b.WriteString("    }\n\n")
}

func nilToNull(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v
}

func writeDrift(b *strings.Builder, ch *plans.ResourceInstanceChange, c *Colors) {
	if ch.Action == plans.Delete {
		fmt.Fprintf(b, "  # %s has been deleted\n", c.Bold(ch.Addr.String()))
		b.WriteString(c.Del("  -") + " " + header(ch.Addr) + " {\n")
		d := &differ{b: b, c: c, gutter: "  "}
		d.attrs(ch.Before, cty.NullVal(cty.DynamicPseudoType), 0, nil, true)
		b.WriteString("    }\n\n")
		return
	}
	fmt.Fprintf(b, "  # %s has changed\n", c.Bold(ch.Addr.String()))
	b.WriteString(c.Chg("  ~") + " " + header(ch.Addr) + " {\n")
	d := &differ{b: b, c: c, gutter: "  "}
	hidden := d.attrs(ch.Before, ch.After, 0, nil, false)
	if hidden > 0 {
		b.WriteString("        " + c.Dim(fmt.Sprintf("# (%d unchanged %s hidden)", hidden, plural(hidden, "attribute"))) + "\n")
	}
	b.WriteString("    }\n\n")
}

// offerNote is what a rejected candidate offered: whether it can run the
// object now, its price and projected cost.
func offerNote(r plans.PlacementRejection) string {
	if r.PricePerHour == nil {
		return ""
	}
	now := "cannot run it now"
	if r.CanRunNow {
		now = "can run it now"
	}
	note := fmt.Sprintf(" [%s, %.2f/h", now, *r.PricePerHour)
	if r.ProjectedCost != nil {
		note += fmt.Sprintf(", projected %.2f", *r.ProjectedCost)
	}
	return note + "]"
}

// writePlacement says where a placed object goes and why not elsewhere.
func writePlacement(b *strings.Builder, pl *plans.Placement, c *Colors) {
	if pl == nil {
		return
	}
	if pl.Kept {
		fmt.Fprintf(b, "  %s\n", c.Dim(fmt.Sprintf("# stays on %s, where it was placed", pl.Chosen)))
		return
	}
	line := fmt.Sprintf("# placed on %s (strategy %s)", pl.Chosen, pl.Strategy)
	if pl.CanRunNow {
		line += ", can run it now"
	}
	if o := pl.Offer; o != nil {
		var parts []string
		if o.GPUCount > 0 {
			g := fmt.Sprintf("%d GPU", o.GPUCount)
			if o.GPUCount > 1 {
				g += "s"
			}
			if o.GPUType != "" {
				g += " " + o.GPUType
			}
			parts = append(parts, g)
		}
		if o.Location != "" {
			parts = append(parts, "on "+o.Location)
		}
		parts = append(parts, fmt.Sprintf("%.2f/h", o.PricePerHour))
		if o.QueueEstimate > 0 {
			parts = append(parts, "queue ~"+o.QueueEstimate.String())
		}
		line += ": " + strings.Join(parts, ", ")
	}
	if pl.Hours > 0 {
		line += fmt.Sprintf("; projected cost %.2f for %.4gh (max_duration)", pl.ProjectedCost, pl.Hours)
	}
	if pl.MaxHourlyCost > 0 {
		line += fmt.Sprintf("; budget %.2f/h", pl.MaxHourlyCost)
	}
	fmt.Fprintf(b, "  %s\n", c.Chg(line))
	for _, r := range pl.Rejected {
		fmt.Fprintf(b, "  %s\n", c.Dim(fmt.Sprintf("# not %s: %s%s", r.Candidate, r.Reason, offerNote(r))))
	}
}
