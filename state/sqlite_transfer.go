package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

var _ Transferer = (*SQLiteStore)(nil)

// Export implements Transferer in one read transaction.
func (s *SQLiteStore) Export(ctx context.Context) (*Records, error) {
	recs := &Records{Lineage: s.lineage}
	err := s.rawRead(ctx, func(c *sqlite3.SQLiteConn) error {
		err := rawQuery(ctx, c, `SELECT serial, created_at, who, command, config_digest, status, counts_json, outputs_json
			FROM versions ORDER BY serial`, func(d []driver.Value) error {
			v := VersionRecord{VersionInfo: VersionInfo{
				Serial: vInt(d[0]), CreatedAt: parseTime(vStr(d[1])), Who: vStr(d[2]), Command: vStr(d[3]),
				ConfigDigest: vStr(d[4]), Status: VersionStatus(vStr(d[5])),
			}}
			if err := json.Unmarshal(vBytes(d[6]), &v.Counts); err != nil {
				return fmt.Errorf("version %d: bad counts %q: %w", v.Serial, d[6], err)
			}
			if d[7] != nil {
				v.Outputs = vBytes(d[7])
			}
			recs.Versions = append(recs.Versions, v)
			return nil
		})
		if err != nil {
			return err
		}
		var alloc objectAlloc
		err = rawQuery(ctx, c, `SELECT `+objReadCols+` FROM objects ORDER BY id`, func(d []driver.Value) error {
			recs.Objects = append(recs.Objects, scanObject(alloc.new(), d))
			return nil
		})
		if err != nil {
			return err
		}
		return rawQuery(ctx, c, `SELECT id, time, kind, addr, message, data FROM events ORDER BY id`, func(d []driver.Value) error {
			recs.Events = append(recs.Events, Event{ID: vInt(d[0]), Time: parseTime(vStr(d[1])), Kind: vStr(d[2]),
				Addr: vStr(d[3]), Message: vStr(d[4]), Data: vBytes(d[5])})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("exporting %s: %w", s.path, err)
	}
	return recs, nil
}

// Import implements Transferer in one write transaction. Object rows and
// events keep their order (object IDs are renumbered from 1 in that
// order; event IDs are kept).
func (s *SQLiteStore) Import(ctx context.Context, recs *Records) error {
	if err := checkRecords(recs); err != nil {
		return err
	}
	err := s.writeTx(ctx, func(c *sql.Conn) error {
		var n int64
		if err := c.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM versions) + (SELECT count(*) FROM events)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s already has versions or events", ErrNotEmpty, s.path)
		}
		if _, err := c.ExecContext(ctx, `DELETE FROM objects`); err != nil { // rows without a version cannot exist; be sure
			return err
		}
		if _, err := c.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'lineage'`, recs.Lineage); err != nil {
			return err
		}
		for _, v := range recs.Versions {
			counts, err := json.Marshal(v.Counts)
			if err != nil {
				return err
			}
			var outs any
			if v.Outputs != nil {
				outs = string(v.Outputs)
			}
			if _, err := c.ExecContext(ctx, `INSERT INTO versions (serial, created_at, who, command, config_digest, status, counts_json, outputs_json)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, v.Serial, fmtTime(v.CreatedAt), v.Who, v.Command, v.ConfigDigest,
				string(v.Status), string(counts), outs); err != nil {
				return fmt.Errorf("version %d: %w", v.Serial, err)
			}
		}
		ins, err := c.PrepareContext(ctx, `INSERT INTO objects (addr, res_type, res_name, key_kind, key_int, key_str, serial_created, serial_removed, `+
			objWriteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, `+placeholders(len(objWriteColNames))+`)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, o := range recs.Objects {
			addr, err := normAddr(o.Addr)
			if err != nil {
				return err
			}
			args, err := objectArgs(o)
			if err != nil {
				return fmt.Errorf("object %s: %w", addr, err)
			}
			var removed any
			if o.RemovedSerial != 0 {
				removed = o.RemovedSerial
			}
			row := append(addrArgs(addr, o.Deposed), o.Serial, removed)
			if _, err := ins.ExecContext(ctx, append(row, args...)...); err != nil {
				return fmt.Errorf("object %s: %w", addr, err)
			}
		}
		for _, ev := range recs.Events {
			if _, err := c.ExecContext(ctx, `INSERT INTO events (id, time, kind, addr, message, data) VALUES (?, ?, ?, ?, ?, ?)`,
				ev.ID, fmtTime(ev.Time), ev.Kind, ev.Addr, ev.Message, ev.Data); err != nil {
				return fmt.Errorf("event %d: %w", ev.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.lineage = recs.Lineage
	return nil
}

func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
