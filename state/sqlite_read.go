package state

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/llmops/llmops/addrs"
)

// rawRead runs fn in a read transaction on a reader connection, handing it
// the driver connection itself: every query in it sees the same state,
// whatever writers do meanwhile. Reading through the driver skips the
// copy and conversion database/sql makes of every column, which for a
// snapshot of 10,000 objects is most of the time.
func (s *SQLiteStore) rawRead(ctx context.Context, fn func(c *sqlite3.SQLiteConn) error) error {
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return s.classify(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return fmt.Errorf("unexpected SQLite driver connection %T", dc)
		}
		if _, err := c.ExecContext(ctx, `BEGIN`, nil); err != nil {
			return err
		}
		err := fn(c)
		if _, rerr := c.ExecContext(context.Background(), `ROLLBACK`, nil); rerr != nil {
			// Do not return a connection still in a transaction to the pool.
			return errors.Join(err, rerr, driver.ErrBadConn)
		}
		return err
	})
	return s.classify(err)
}

// rawQuery runs q and calls fn with each row. The values are the
// driver's: fn may keep byte slices but not dest itself.
func rawQuery(ctx context.Context, c *sqlite3.SQLiteConn, q string, fn func(dest []driver.Value) error, args ...any) error {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := c.QueryContext(ctx, q, nv)
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(dest); err != nil {
			return err
		}
	}
}

// rawInt returns the single integer of q's first row, 0 for none or NULL.
func rawInt(ctx context.Context, c *sqlite3.SQLiteConn, q string, args ...any) (int64, error) {
	var n int64
	err := rawQuery(ctx, c, q, func(d []driver.Value) error { n = vInt(d[0]); return nil }, args...)
	return n, err
}

const maxSerialQuery = `SELECT COALESCE(MAX(serial), 0) FROM versions`

// LatestSerial implements Store.
func (s *SQLiteStore) LatestSerial(ctx context.Context) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, maxSerialQuery).Scan(&n)
	return n, s.classify(err)
}

// Snapshot implements Store. The objects and outputs of a version still
// in progress are those recorded so far. Asking for a serial that does not
// exist is an error; serial 0 of a store without versions is an empty
// snapshot.
func (s *SQLiteStore) Snapshot(ctx context.Context, serial int64) (*Snapshot, error) {
	snap := &Snapshot{Lineage: s.lineage}
	err := s.rawRead(ctx, func(c *sqlite3.SQLiteConn) error {
		latest, err := rawInt(ctx, c, maxSerialQuery)
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
		n, err := rawInt(ctx, c, `SELECT count(*) FROM objects WHERE serial_removed IS NULL`)
		if err != nil {
			return err
		}
		snap.Objects = make([]*Object, 0, n)
		var alloc objectAlloc
		add := func(d []driver.Value) error {
			o := scanObject(alloc.new(), d)
			if o.Deposed != "" {
				snap.Deposed = append(snap.Deposed, o)
				return nil
			}
			snap.Objects = append(snap.Objects, o)
			return nil
		}
		if serial == latest {
			err = rawQuery(ctx, c, `SELECT `+objReadCols+` FROM objects WHERE serial_removed IS NULL`, add)
		} else {
			err = rawQuery(ctx, c, `SELECT `+objReadCols+` FROM objects NOT INDEXED
				WHERE serial_created <= ?1 AND (serial_removed IS NULL OR serial_removed > ?1)`, add, serial)
		}
		if err != nil {
			return err
		}
		var outs []byte
		err = rawQuery(ctx, c, `SELECT outputs_json FROM versions
			WHERE serial <= ? AND outputs_json IS NOT NULL ORDER BY serial DESC LIMIT 1`,
			func(d []driver.Value) error { outs = vBytes(d[0]); return nil }, serial)
		if err != nil || outs == nil {
			return err
		}
		snap.Outputs, err = decodeOutputs(outs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading state version %d: %w", serial, err)
	}
	slices.SortFunc(snap.Objects, func(a, b *Object) int { return compareAddr(a.Addr, b.Addr) })
	slices.SortFunc(snap.Deposed, func(a, b *Object) int {
		if c := compareAddr(a.Addr, b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Deposed, b.Deposed)
	})
	return snap, nil
}

func decodeOutputs(b []byte) ([]*Output, error) {
	var js []outputJSON
	if err := json.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("bad outputs: %w", err)
	}
	outs := make([]*Output, len(js))
	for i, o := range js {
		outs[i] = &Output{Name: o.Name, ValueJSON: o.Value, TypeJSON: o.Type, Sensitive: o.Sensitive}
	}
	return outs, nil
}

// Versions implements Store. ObjectCount comes from two grouped queries:
// the count at serial S is the rows created at or before S less those
// removed at or before S.
func (s *SQLiteStore) Versions(ctx context.Context) ([]VersionInfo, error) {
	var vs []VersionInfo
	delta := map[int64]int{}
	err := s.rawRead(ctx, func(c *sqlite3.SQLiteConn) error {
		err := rawQuery(ctx, c, `SELECT serial, created_at, who, command, config_digest, status, counts_json
			FROM versions ORDER BY serial`, func(d []driver.Value) error {
			v := VersionInfo{
				Serial: vInt(d[0]), CreatedAt: parseTime(vStr(d[1])), Who: vStr(d[2]), Command: vStr(d[3]),
				ConfigDigest: vStr(d[4]), Status: VersionStatus(vStr(d[5])),
			}
			if err := json.Unmarshal(vBytes(d[6]), &v.Counts); err != nil {
				return fmt.Errorf("version %d: bad counts %q: %w", v.Serial, d[6], err)
			}
			vs = append(vs, v)
			return nil
		})
		if err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			sign int
		}{
			{`SELECT serial_created, count(*) FROM objects GROUP BY serial_created`, +1},
			{`SELECT serial_removed, count(*) FROM objects WHERE serial_removed IS NOT NULL GROUP BY serial_removed`, -1},
		} {
			err := rawQuery(ctx, c, q.sql, func(d []driver.Value) error {
				delta[vInt(d[0])] += q.sign * int(vInt(d[1]))
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
func (s *SQLiteStore) ObjectHistory(ctx context.Context, addr addrs.ResourceInstance) ([]*Object, error) {
	addr, err := normAddr(addr)
	if err != nil {
		return nil, err
	}
	var objs []*Object
	err = s.rawRead(ctx, func(c *sqlite3.SQLiteConn) error {
		return rawQuery(ctx, c, `SELECT `+objReadCols+` FROM objects WHERE addr = ? ORDER BY serial_created, id`,
			func(d []driver.Value) error { objs = append(objs, scanObject(new(Object), d)); return nil }, addr.String())
	})
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", addr, err)
	}
	return objs, nil
}
