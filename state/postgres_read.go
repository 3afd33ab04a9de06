package state

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/llmops/llmops/addrs"
)

// pgObjReadCols are the object columns scanned by scanPgObject.
var pgObjReadCols = objReadCols

// scanPgObject reads one row of pgObjReadCols into o.
func scanPgObject(rows pgx.Rows, o *Object) error {
	var (
		resType, resName, provider, status string
		keyKind                            int16
		kInt, removed                      *int64
		kStr, deps                         *string
		module                             string
	)
	err := rows.Scan(&resType, &resName, &keyKind, &kInt, &kStr, &o.Serial, &removed, &provider, &status,
		&o.SchemaVersion, &o.ValueJSON, &o.TypeJSON, &o.Private, &o.SensitivePaths, &o.PendingHandle, &o.PendingStatus,
		&deps, &o.CreateBeforeDestroy, &o.Version, &o.Deposed, &module)
	if err != nil {
		return err
	}
	o.Addr = addrs.ResourceInstance{Resource: addrs.Resource{Module: parseModule(module), Type: resType, Name: resName}, Key: addrs.NoKey}
	switch keyKind {
	case keyInt:
		if kInt != nil {
			o.Addr.Key = addrs.IntKey(int(*kInt))
		}
	case keyStr:
		if kStr != nil {
			o.Addr.Key = addrs.StringKey(*kStr)
		}
	}
	if removed != nil {
		o.RemovedSerial = *removed
	}
	o.Status = ObjectStatus(status)
	o.Provider.Type, o.Provider.Alias, _ = strings.Cut(provider, ".")
	if deps != nil && *deps != "" {
		o.Dependencies = parseDeps(*deps)
	}
	return nil
}

// queryObjects runs q and appends each object it returns to what add says.
func queryObjects(ctx context.Context, tx pgx.Tx, alloc *objectAlloc, add func(*Object), q string, args ...any) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		o := alloc.new()
		if err := scanPgObject(rows, o); err != nil {
			return err
		}
		add(o)
	}
	return rows.Err()
}

// LatestSerial implements Store.
func (s *PostgresStore) LatestSerial(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(serial), 0) FROM versions WHERE workspace = $1`, s.workspace).Scan(&n)
	return n, s.wrap(err)
}

// Snapshot implements Store, as SQLite's does, in one read-only
// transaction.
func (s *PostgresStore) Snapshot(ctx context.Context, serial int64) (*Snapshot, error) {
	snap := &Snapshot{Lineage: s.lineage}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var latest, current int64
		err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT MAX(serial) FROM versions WHERE workspace = $1), 0),
				(SELECT count(*) FROM objects WHERE workspace = $1 AND serial_removed IS NULL)`, s.workspace).Scan(&latest, &current)
		if err != nil {
			return err
		}
		if serial == 0 {
			serial = latest
		}
		if serial == 0 {
			return nil
		}
		if serial < 0 || serial > latest {
			return fmt.Errorf("state version %d does not exist (the newest is %d)", serial, latest)
		}
		snap.Serial = serial
		snap.Objects = make([]*Object, 0, current)
		var alloc objectAlloc
		add := func(o *Object) {
			if o.Deposed != "" {
				snap.Deposed = append(snap.Deposed, o)
				return
			}
			snap.Objects = append(snap.Objects, o)
		}
		if serial == latest {
			err = queryObjects(ctx, tx, &alloc, add, `SELECT `+pgObjReadCols+` FROM objects
				WHERE workspace = $1 AND serial_removed IS NULL`, s.workspace)
		} else {
			err = queryObjects(ctx, tx, &alloc, add, `SELECT `+pgObjReadCols+` FROM objects
				WHERE workspace = $1 AND serial_created <= $2 AND (serial_removed IS NULL OR serial_removed > $2)`, s.workspace, serial)
		}
		if err != nil {
			return err
		}
		var outs *string
		err = tx.QueryRow(ctx, `SELECT outputs_json FROM versions
			WHERE workspace = $1 AND serial <= $2 AND outputs_json IS NOT NULL ORDER BY serial DESC LIMIT 1`,
			s.workspace, serial).Scan(&outs)
		if err == pgx.ErrNoRows || (err == nil && outs == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		snap.Outputs, err = decodeOutputs([]byte(*outs))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading state version %d: %w", serial, err)
	}
	sortSnapshot(snap)
	return snap, nil
}

// sortSnapshot orders the objects by address and the deposed objects by
// address and key.
func sortSnapshot(snap *Snapshot) {
	slices.SortFunc(snap.Objects, func(a, b *Object) int { return compareAddr(a.Addr, b.Addr) })
	slices.SortFunc(snap.Deposed, func(a, b *Object) int {
		if c := compareAddr(a.Addr, b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Deposed, b.Deposed)
	})
}

// Versions implements Store, as SQLite's does.
func (s *PostgresStore) Versions(ctx context.Context) ([]VersionInfo, error) {
	var vs []VersionInfo
	delta := map[int64]int{}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT serial, created_at, who, command, config_digest, status, counts_json
			FROM versions WHERE workspace = $1 ORDER BY serial`, s.workspace)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v VersionInfo
			var status, counts string
			if err := rows.Scan(&v.Serial, &v.CreatedAt, &v.Who, &v.Command, &v.ConfigDigest, &status, &counts); err != nil {
				rows.Close()
				return err
			}
			v.CreatedAt = v.CreatedAt.UTC()
			v.Status = VersionStatus(status)
			if err := json.Unmarshal([]byte(counts), &v.Counts); err != nil {
				rows.Close()
				return fmt.Errorf("version %d: bad counts %q: %w", v.Serial, counts, err)
			}
			vs = append(vs, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			sign int
		}{
			{`SELECT serial_created, count(*) FROM objects WHERE workspace = $1 GROUP BY serial_created`, +1},
			{`SELECT serial_removed, count(*) FROM objects WHERE workspace = $1 AND serial_removed IS NOT NULL GROUP BY serial_removed`, -1},
		} {
			rows, err := tx.Query(ctx, q.sql, s.workspace)
			if err != nil {
				return err
			}
			var serial, n int64
			_, err = pgx.ForEachRow(rows, []any{&serial, &n}, func() error {
				delta[serial] += q.sign * int(n)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing state versions: %w", err)
	}
	n := 0
	for i := range vs {
		n += delta[vs[i].Serial]
		vs[i].ObjectCount = n
	}
	return vs, nil
}

// ObjectHistory implements Store.
func (s *PostgresStore) ObjectHistory(ctx context.Context, addr addrs.ResourceInstance) ([]*Object, error) {
	addr, err := normAddr(addr)
	if err != nil {
		return nil, err
	}
	var objs []*Object
	err = s.readTx(ctx, func(tx pgx.Tx) error {
		var alloc objectAlloc
		return queryObjects(ctx, tx, &alloc, func(o *Object) { objs = append(objs, o) },
			`SELECT `+pgObjReadCols+` FROM objects WHERE workspace = $1 AND addr = $2 ORDER BY serial_created, id`,
			s.workspace, addr.String())
	})
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", addr, err)
	}
	return objs, nil
}

// AppendEvent implements Store. A zero ev.Time means now; ev.ID is the
// next of the workspace's.
func (s *PostgresStore) AppendEvent(ctx context.Context, ev Event) error {
	if ev.Kind == "" {
		return fmt.Errorf("an event needs a kind")
	}
	return s.writeTx(ctx, func(tx pgx.Tx) error { return s.appendEvent(ctx, tx, ev) })
}

func (s *PostgresStore) appendEvent(ctx context.Context, tx pgx.Tx, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Kind == "" {
		return fmt.Errorf("an event needs a kind")
	}
	// Two writers appending at once take the same id; the second fails on
	// the primary key and writeTx runs it again.
	_, err := tx.Exec(ctx, `INSERT INTO events (workspace, id, time, kind, addr, message, data)
		SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4, $5, $6 FROM events WHERE workspace = $1`,
		s.workspace, pgTime(ev.Time), ev.Kind, ev.Addr, ev.Message, ev.Data)
	return err
}

// Events implements Store.
func (s *PostgresStore) Events(ctx context.Context, limit int) ([]Event, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	q := `SELECT id, time, kind, addr, message, data FROM events WHERE workspace = $1 ORDER BY id`
	args := []any{s.workspace}
	if limit > 0 {
		q = `SELECT * FROM (SELECT id, time, kind, addr, message, data FROM events WHERE workspace = $1 ORDER BY id DESC LIMIT $2) e ORDER BY id`
		args = append(args, limit)
	}
	return s.queryEvents(ctx, q, args...)
}

// EventsOfKind implements Store.
func (s *PostgresStore) EventsOfKind(ctx context.Context, kinds ...string) ([]Event, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	if len(kinds) == 0 {
		return nil, nil
	}
	return s.queryEvents(ctx, `SELECT id, time, kind, addr, message, data FROM events
		WHERE workspace = $1 AND kind = ANY($2) ORDER BY id`, s.workspace, kinds)
}

func (s *PostgresStore) queryEvents(ctx context.Context, q string, args ...any) ([]Event, error) {
	var evs []Event
	err := s.withReader(func(c pgxReadConn) (err error) {
		evs, err = readEvents(ctx, c, q, args...)
		return err
	})
	return evs, s.wrap(err)
}

// readEvents returns the events q lists (its columns: id, time, kind,
// addr, message, data).
func readEvents(ctx context.Context, r pgxQuerier, q string, args ...any) ([]Event, error) {
	rows, err := r.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var evs []Event
	var ev Event
	_, err = pgx.ForEachRow(rows, []any{&ev.ID, &ev.Time, &ev.Kind, &ev.Addr, &ev.Message, &ev.Data}, func() error {
		e := ev
		e.Time = e.Time.UTC()
		evs = append(evs, e)
		ev.Data = nil
		return nil
	})
	return evs, err
}
