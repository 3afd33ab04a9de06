package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

const showUsage = `
Usage: llmops show [options] [PLANFILE]

Shows the objects and outputs recorded in the state, or, with PLANFILE,
a saved plan. Sensitive values are hidden.
`

func runShow(m *meta, args []string) int {
	fs := m.newFlags("show", showUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output (see docs/json-format.md).")
	version := fs.Int64("version", 0, "Show state version N instead of the newest (see `llmops history`).")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	var only *addrs.ResourceInstance
	if fs.NArg() == 1 && !strings.HasSuffix(fs.Arg(0), ".plan") {
		if a, err := addrs.ParseResourceInstance(fs.Arg(0)); err == nil {
			if _, statErr := os.Stat(fs.Arg(0)); statErr != nil {
				only = &a
			}
		}
	}
	if fs.NArg() > 0 && only == nil {
		key, ok := m.stateKey()
		if !ok {
			return exitError
		}
		p, err := plans.ReadFile(fs.Arg(0), key)
		if err != nil {
			return m.errorDetail("Cannot read the plan file", err.Error())
		}
		if *jsonOut {
			b, _ := json.MarshalIndent(render.PlanJSON(p), "", "  ")
			fmt.Fprintln(m.stdout, string(b))
			return exitOK
		}
		render.Plan(m.stdout, p, m.colors)
		return exitOK
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx, *version)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	if *version != 0 && snap.Serial != *version {
		return m.errorDetail("No such state version", fmt.Sprintf("There is no state version %d; `llmops history` lists them.", *version))
	}
	if only != nil {
		kept := snap.Objects[:0:0]
		for _, o := range snap.Objects {
			if o.Addr == *only {
				kept = append(kept, o)
			}
		}
		if len(kept) == 0 {
			return m.errorDetail("No such object", fmt.Sprintf("%s is not in state version %d.", *only, snap.Serial))
		}
		snap = &state.Snapshot{Lineage: snap.Lineage, Serial: snap.Serial, Objects: kept}
	}
	if *jsonOut {
		doc := stateJSON(snap)
		rec, err := reproducibility(ctx, st, snap)
		if err != nil {
			return m.errorDetail("Cannot read the state", err.Error())
		}
		doc["reproducibility"] = rec
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(snap.Objects) == 0 && len(snap.Outputs) == 0 {
		fmt.Fprintln(m.stdout, "The state is empty: nothing has been applied yet.")
		return exitOK
	}
	for _, o := range snap.Objects {
		v, err := decodeObject(o)
		if err != nil {
			return m.errorDetail("Invalid object in state", fmt.Sprintf("%s: %s", o.Addr, err))
		}
		render.Object(m.stdout, o.Addr, v, string(o.Status), m.colors)
	}
	outs := decodeOutputs(snap, nil)
	if len(outs) > 0 {
		printOutputs(m, outs, nil)
	}
	return exitOK
}

// decodeObject decodes a recorded object for display: sealed sensitive
// parts stay hidden (they are never shown anyway).
func decodeObject(o *state.Object) (cty.Value, error) {
	v, err := values.DecodeSealed(values.Encoded{Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.SensitivePaths}, nil, false)
	if errors.Is(err, values.ErrSealed) {
		err = nil
	}
	return v, err
}

// decodeOutputs decodes the recorded outputs; key opens sealed ones (nil:
// they stay hidden).
func decodeOutputs(snap *state.Snapshot, key values.Sealer) map[string]cty.Value {
	out := map[string]cty.Value{}
	for _, o := range snap.Outputs {
		v, err := values.DecodeOutput(o.ValueJSON, o.TypeJSON, o.Sensitive, key)
		if err != nil && !errors.Is(err, values.ErrSealed) {
			continue
		}
		out[o.Name] = v
	}
	return out
}

// stateJSON is the `show -json` document for the state.
func stateJSON(snap *state.Snapshot) map[string]any {
	resources := []map[string]any{}
	for _, o := range snap.Objects {
		v, err := decodeObject(o)
		if err != nil {
			continue
		}
		val, _, sens := render.JSONValue(v)
		deps := []string{}
		for _, d := range o.Dependencies {
			deps = append(deps, d.String())
		}
		r := map[string]any{
			"address": o.Addr.String(), "type": o.Addr.Resource.Type, "name": o.Addr.Resource.Name,
			"provider": o.Provider.String(), "status": string(o.Status), "version": o.Version,
			"schema_version": o.SchemaVersion, "values": val, "sensitive_values": sens,
			"depends_on": deps, "serial": o.Serial,
		}
		if k := render.KeyJSON(o.Addr.Key); k != nil {
			r["index"] = k
		}
		if m := o.Addr.Resource.Module; !m.IsRoot() {
			r["module_address"] = m.String()
		}
		resources = append(resources, r)
	}
	outputs := map[string]any{}
	for _, o := range snap.Outputs {
		entry := map[string]any{"sensitive": o.Sensitive}
		if !o.Sensitive {
			if v, err := values.DecodeOutput(o.ValueJSON, o.TypeJSON, false, nil); err == nil {
				entry["value"], _, _ = render.JSONValue(v)
			}
		}
		outputs[o.Name] = entry
	}
	return map[string]any{
		"format_version": render.JSONFormatVersion, "lineage": snap.Lineage, "serial": snap.Serial,
		"values": map[string]any{"resources": resources, "outputs": outputs},
	}
}

const outputUsage = `
Usage: llmops output [options] [NAME]

Shows the root output values recorded by the last apply. Sensitive outputs
are shown as <sensitive> unless asked for by NAME.
`

func runOutput(m *meta, args []string) int {
	fs := m.newFlags("output", outputUsage)
	jsonOut := fs.Bool("json", false, "Machine-readable output.")
	raw := fs.Bool("raw", false, "With NAME: print a string value without quotes, for scripts.")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	outs := decodeOutputs(snap, nil)
	if fs.NArg() > 0 {
		name := fs.Arg(0)
		v, ok := outs[name]
		if ok && values.IsSensitive(v) {
			// Asked for by name: open it with the state key.
			key, kok := m.stateKey()
			if !kok {
				return exitError
			}
			for _, o := range snap.Outputs {
				if o.Name == name {
					var err error
					if v, err = values.DecodeOutput(o.ValueJSON, o.TypeJSON, o.Sensitive, key); err != nil {
						if errors.Is(err, values.ErrSealed) {
							return m.errorDetail("The state key is needed", fmt.Sprintf("Output %q is sealed in the state. Set LLMOPS_STATE_KEY (or LLMOPS_STATE_KEY_FILE) to the state key to read it.", name))
						}
						return m.errorDetail("Cannot read the output", err.Error())
					}
				}
			}
		}
		if !ok {
			return m.errorDetail(fmt.Sprintf("Output %q not found", name), fmt.Sprintf("The state has no output named %q. Outputs: %s. Declare it in an output block and apply.", name, strings.Join(render.SortedNames(outs), ", ")))
		}
		u, _ := v.UnmarkDeep()
		// Asked for by name, the value is printed as is, past the
		// scrubber: this is the one way to read a secret, on purpose.
		w := m.rawStdout
		switch {
		case *jsonOut:
			val, _, _ := render.JSONValue(u)
			b, _ := json.Marshal(val)
			fmt.Fprintln(w, string(b))
		case *raw && u.Type() == cty.String && !u.IsNull():
			fmt.Fprint(w, u.AsString())
		default:
			fmt.Fprintln(w, render.HCL(u))
		}
		return exitOK
	}
	if *jsonOut {
		doc := map[string]any{}
		for _, o := range snap.Outputs {
			entry := map[string]any{"sensitive": o.Sensitive}
			if !o.Sensitive {
				entry["value"], _, _ = render.JSONValue(outs[o.Name])
			}
			doc[o.Name] = entry
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(outs) == 0 {
		fmt.Fprintln(m.stdout, "No outputs recorded. Declare output blocks and run apply.")
		return exitOK
	}
	for _, n := range render.SortedNames(outs) {
		v := outs[n]
		if values.IsSensitive(v) {
			fmt.Fprintf(m.stdout, "%s = <sensitive>\n", n)
			continue
		}
		fmt.Fprintf(m.stdout, "%s = %s\n", n, render.HCL(v))
	}
	return exitOK
}

const stateUsage = `
Usage: llmops state SUBCOMMAND [options] [ARGS]

  list [PATTERN...]   List recorded instances (globs such as training_run.* allowed).
  show ADDR           Show one recorded instance.
  rm ADDR...          Forget instances: they stay in reality, llmops stops managing them.
  mv SRC DST          Rename a recorded instance, e.g. after renaming its block.
  keygen [-out FILE]  Print a new random state key (for LLMOPS_STATE_KEY), or
                      write it to FILE, mode 0600 (for LLMOPS_STATE_KEY_FILE).
  rotate-key -new-key-file FILE
                      Re-seal every sensitive value with a new key.
  restore [BACKUP]    Put back an automatic backup (default: the newest, taken
                      before the last apply) in place of a damaged state.

rm and mv write a new state version and take the state lock.
`

func runState(m *meta, args []string) int {
	if len(args) == 0 || args[0] == "-help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(m.stdout, strings.TrimSpace(stateUsage)+"\n")
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list", "show", "rm", "mv", "keygen", "rotate-key", "restore":
	default:
		// Before the state is opened, which would create it.
		return m.errorDetail(fmt.Sprintf("Unknown state subcommand %q", sub),
			"The state subcommands are list, show, rm, mv, keygen, rotate-key and restore; `llmops state -help` describes them.")
	}
	if sub == "keygen" {
		return stateKeygen(m, rest)
	}
	if sub == "restore" {
		fs := m.newFlags("state restore", stateUsage)
		m.addStateFlags(fs)
		if ok, code := m.parse(fs, rest); !ok {
			return code
		}
		return stateRestore(m, fs.Args())
	}
	fs := m.newFlags("state "+sub, stateUsage)
	m.addStateFlags(fs)
	newKeyFile := fs.String("new-key-file", "", "rotate-key: the file holding the new key.")
	if ok, code := m.parse(fs, rest); !ok {
		return code
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	switch sub {
	case "list":
		return stateList(m, st, fs.Args())
	case "show":
		if fs.NArg() != 1 {
			return m.errorf("state show takes one address, e.g. llmops state show training_run.ft")
		}
		return stateShow(m, st, fs.Arg(0))
	case "rotate-key":
		return stateRotateKey(m, st, *newKeyFile)
	case "rm":
		if fs.NArg() == 0 {
			return m.errorf("state rm takes one or more addresses")
		}
		return stateRm(m, st, fs.Args())
	case "mv":
		if fs.NArg() != 2 {
			return m.errorf("state mv takes a source and a destination address")
		}
		return stateMv(m, st, fs.Arg(0), fs.Arg(1))
	}
	return exitError // not reached: unknown subcommands are refused above
}

func stateList(m *meta, st state.Store, pats []string) int {
	snap, err := st.Snapshot(context.Background(), 0)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	var ps []addrs.Pattern
	for _, s := range pats {
		p, err := addrs.ParsePattern(s)
		if err != nil {
			return m.errorDetail("Invalid address", err.Error())
		}
		ps = append(ps, p)
	}
	for _, o := range snap.Objects {
		if len(ps) > 0 {
			match := false
			for _, p := range ps {
				match = match || p.MatchInstance(o.Addr)
			}
			if !match {
				continue
			}
		}
		fmt.Fprintln(m.stdout, o.Addr.String())
	}
	return exitOK
}

func stateShow(m *meta, st state.Store, s string) int {
	addr, err := addrs.ParseResourceInstance(s)
	if err != nil {
		return m.errorDetail("Invalid address", err.Error())
	}
	snap, err := st.Snapshot(context.Background(), 0)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	o := snap.Object(addr)
	if o == nil {
		return m.errorDetail("No such object in the state", fmt.Sprintf("%s is not recorded. `llmops state list` shows what is.", addr))
	}
	v, err := decodeObject(o)
	if err != nil {
		return m.errorDetail("Invalid object in state", err.Error())
	}
	render.Object(m.stdout, o.Addr, v, string(o.Status), m.colors)
	return exitOK
}

// stateEdit runs fn inside a new state version under the lock.
func stateEdit(m *meta, st state.Store, op string, fn func(snap *state.Snapshot, w state.Writer) (int, error)) int {
	ctx := context.Background()
	unlock, ok := m.lock(ctx, st, op)
	if !ok {
		return exitError
	}
	defer unlock()
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		return m.errorDetail("Cannot read the state", err.Error())
	}
	w, _ := who()
	wr, err := st.Begin(ctx, state.VersionInfo{CreatedAt: time.Now().UTC(), Who: w, Command: op, Status: state.VersionInProgress})
	if err != nil {
		return m.errorDetail("Cannot write the state", err.Error())
	}
	n, err := fn(snap, wr)
	status := state.VersionComplete
	if err != nil {
		status = state.VersionPartial
	}
	if ferr := wr.Finish(ctx, status, state.Counts{}); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return m.errorDetail("Cannot change the state", err.Error())
	}
	_ = n
	return exitOK
}

func stateRm(m *meta, st state.Store, args []string) int {
	var addrsToRm []addrs.ResourceInstance
	for _, s := range args {
		a, err := addrs.ParseResourceInstance(s)
		if err != nil {
			return m.errorDetail("Invalid address", err.Error())
		}
		addrsToRm = append(addrsToRm, a)
	}
	return stateEdit(m, st, "state rm "+strings.Join(args, " "), func(snap *state.Snapshot, w state.Writer) (int, error) {
		n := 0
		for _, a := range addrsToRm {
			if snap.Object(a) == nil {
				return n, fmt.Errorf("%s is not in the state", a)
			}
			if err := w.RemoveObject(context.Background(), a); err != nil {
				return n, err
			}
			// Its deposed objects (old objects of a create_before_destroy
			// replacement not yet destroyed) are forgotten with it.
			for _, o := range snap.Deposed {
				if o.Addr == a {
					if err := w.RemoveDeposed(context.Background(), a, o.Deposed); err != nil {
						return n, err
					}
					fmt.Fprintf(m.stdout, "Removed the deposed object %s of %s from the state (the real object is untouched).\n", o.Deposed, a)
				}
			}
			fmt.Fprintf(m.stdout, "Removed %s from the state (the real object is untouched).\n", a)
			n++
		}
		return n, nil
	})
}

func stateMv(m *meta, st state.Store, src, dst string) int {
	from, err := addrs.ParseResourceInstance(src)
	if err != nil {
		return m.errorDetail("Invalid source address", err.Error())
	}
	to, err := addrs.ParseResourceInstance(dst)
	if err != nil {
		return m.errorDetail("Invalid destination address", err.Error())
	}
	if from.Resource.Type != to.Resource.Type {
		return m.errorDetail("Cannot move between types", fmt.Sprintf("%s is a %s and %s a %s; an object keeps its type.", from, from.Resource.Type, to, to.Resource.Type))
	}
	return stateEdit(m, st, "state mv "+src+" "+dst, func(snap *state.Snapshot, w state.Writer) (int, error) {
		o := snap.Object(from)
		if o == nil {
			return 0, fmt.Errorf("%s is not in the state", from)
		}
		if snap.Object(to) != nil {
			return 0, fmt.Errorf("%s is already in the state; remove or move it first", to)
		}
		moved := *o
		moved.Addr = to
		if err := w.PutObject(context.Background(), &moved); err != nil {
			return 0, err
		}
		if err := w.RemoveObject(context.Background(), from); err != nil {
			return 0, err
		}
		fmt.Fprintf(m.stdout, "Moved %s to %s.\n", from, to)
		return 1, nil
	})
}

const forceUnlockUsage = `
Usage: llmops force-unlock [options] LOCK_ID

Removes the state lock with that ID, whoever holds it. Use it only when
the holder is gone (a crashed run on another machine); a lock left by a
dead process on this machine is taken over automatically.
`

func runForceUnlock(m *meta, args []string) int {
	fs := m.newFlags("force-unlock", forceUnlockUsage)
	force := fs.Bool("force", false, "Do not ask for confirmation.")
	m.addStateFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return m.errorf("force-unlock takes the lock ID shown in the lock error")
	}
	ctx := context.Background()
	st, ok := m.openState(ctx)
	if !ok {
		return exitError
	}
	defer st.Close()
	id := fs.Arg(0)
	if !*force {
		if h, err := st.CurrentLock(ctx); err == nil && h != nil {
			fmt.Fprintf(m.stdout, "The lock %s is held by %s (pid %d) for %q since %s.\n", h.ID, h.Who, h.PID, h.Operation, h.Created.Local().Format(time.RFC3339))
		}
		fmt.Fprint(m.stdout, "Removing it while that operation runs can corrupt your objects. Only 'yes' will be accepted: ")
		if !m.readYes() {
			fmt.Fprintln(m.stdout, "force-unlock cancelled.")
			return exitError
		}
	}
	if err := st.ForceUnlock(ctx, id); err != nil {
		return m.errorDetail("Cannot unlock", fmt.Sprintf("%s. `llmops force-unlock` needs the ID printed in the lock error.", err))
	}
	fmt.Fprintf(m.stdout, "The state lock %s was removed.\n", id)
	return exitOK
}

// reproducibility is the record, per training run, of every input digest,
// the command, hyperparameters and provider versions of a state version.
func reproducibility(ctx context.Context, st state.Store, snap *state.Snapshot) ([]history.RunRecord, error) {
	objs, err := history.Decode(snap)
	if err != nil {
		return nil, err
	}
	evs, err := st.Events(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("the event log: %w", err)
	}
	out := history.Reproducibility(objs, history.ProvidersAt(evs, snap.Serial))
	if out == nil {
		out = []history.RunRecord{}
	}
	return out, nil
}
