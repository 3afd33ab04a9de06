package traffic

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func exchange(id, prompt, completion string) Record {
	return Record{Type: TypeExchange, Time: time.Unix(1700000000, 0).UTC(), RequestID: id, Prompt: prompt, Completion: completion, Status: 200}
}

func rating(f float64) *float64 { return &f }

func TestWriterSealsAndReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "traffic", "dep-1")
	w, err := OpenWriter(dir, WriterOptions{SegmentRows: 3, MaxRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"r1", "r2", "r3"} {
		if err := w.Append(exchange(id, "q"+id, "a"+id)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if err := w.Append(exchange("r4", "q", "a")); !errors.Is(err, ErrFull) {
		t.Fatalf("past max_rows: %v, want ErrFull", err)
	}
	if err := w.Append(Record{Type: TypeFeedback, RequestID: "r1", Rating: rating(5), Correction: "better"}); err != nil {
		t.Fatalf("feedback past max_rows: %v", err)
	}
	segs, _ := Segments(dir)
	if len(segs) != 2 || !segs[0].Sealed || segs[1].Sealed {
		t.Fatalf("segments %+v: want one sealed and one open", segs)
	}
	if fi, _ := os.Stat(filepath.Join(dir, segs[0].Name)); fi.Mode().Perm() != 0o400 {
		t.Errorf("sealed segment mode %v, want 0400", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("traffic dir mode %v, want 0700", fi.Mode().Perm())
	}
	sealed, _ := ReadRecords(dir, true)
	if len(sealed) != 3 {
		t.Fatalf("sealed records: %d, want 3", len(sealed))
	}
	w.Flush()
	all, _ := ReadRecords(dir, false)
	if len(all) != 4 {
		t.Fatalf("all records: %d, want 4", len(all))
	}
	rows, orphans := Join(all)
	if len(rows) != 3 || orphans != 0 || rows[0].Feedback == nil || *rows[0].Feedback.Rating != 5 {
		t.Fatalf("join: %+v orphans %d", rows, orphans)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A new writer counts what is held.
	w2, err := OpenWriter(dir, WriterOptions{MaxRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if w2.Exchanges() != 3 {
		t.Errorf("exchanges held: %d, want 3", w2.Exchanges())
	}
}

func TestLeftoverSegmentSealed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seg-00000007.jsonl.open")
	os.WriteFile(p, []byte(`{"type":"exchange","request_id":"a","status":200}`+"\n"+`{"type":"exch`), 0o600)
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadRecords(dir, true)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %v %v: want the one complete line", recs, err)
	}
	if err := w.Append(exchange("b", "q", "a")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	segs, _ := Segments(dir)
	if len(segs) != 2 || segs[1].Seq != 8 {
		t.Errorf("segments %+v: want the next one numbered 8", segs)
	}
}

func TestSnapshot(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, WriterOptions{SegmentRows: 100})
	w.Append(exchange("r1", "Q1 ", "A1"))
	w.Append(exchange("r2", "Q2 ", "A2"))
	bad := exchange("r3", "Q3 ", "")
	w.Append(bad)
	failed := exchange("r4", "Q4 ", "A4")
	failed.Status = 500
	w.Append(failed)
	w.Append(Record{Type: TypeFeedback, RequestID: "r2", Rating: rating(5), Correction: "B2"})
	w.Append(Record{Type: TypeFeedback, RequestID: "r1", Rating: rating(2)})
	w.Flush()
	s, err := Snapshot(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 0 || s.Segments != 0 {
		t.Fatalf("open segment read: %+v", s)
	}
	w.Seal()
	s, _ = Snapshot(dir, nil)
	if s.Rows != 2 || !strings.Contains(string(s.Data), `"text":"Q2 B2"`) || !strings.Contains(string(s.Data), `"text":"Q1 A1"`) {
		t.Fatalf("snapshot: %d rows\n%s", s.Rows, s.Data)
	}
	again, _ := Snapshot(dir, nil)
	if again.Digest != s.Digest {
		t.Errorf("digest not stable: %s vs %s", again.Digest, s.Digest)
	}
	min := 4.0
	good, _ := Snapshot(dir, &min)
	if good.Rows != 1 || good.Digest == s.Digest {
		t.Errorf("min_rating 4: %d rows %s", good.Rows, good.Data)
	}
}

func TestParseSource(t *testing.T) {
	if id, ok, err := ParseSource("traffic://dep-0123456789abcdef"); !ok || err != nil || id != "dep-0123456789abcdef" {
		t.Errorf("got %q %v %v", id, ok, err)
	}
	if _, ok, _ := ParseSource("file://x.jsonl"); ok {
		t.Error("file:// taken for traffic")
	}
	if _, ok, err := ParseSource("traffic://../x"); !ok || err == nil {
		t.Error("a path accepted as a deployment id")
	}
}

func TestSnapshotMatching(t *testing.T) {
	dir := t.TempDir()
	w, _ := OpenWriter(dir, WriterOptions{SegmentRows: 2})
	w.Append(exchange("r1", "Q1 ", "A1"))
	w.Append(exchange("r2", "Q2 ", "A2"))
	planned, _ := Snapshot(dir, nil)
	// More traffic is sealed between plan and apply.
	w.Append(exchange("r3", "Q3 ", "A3"))
	w.Append(exchange("r4", "Q4 ", "A4"))
	now, _ := Snapshot(dir, nil)
	if now.Digest == planned.Digest || now.Rows != 4 {
		t.Fatalf("new segments did not change the snapshot: %+v", now)
	}
	got, err := SnapshotMatching(dir, nil, planned.Digest)
	if err != nil || got.Rows != 2 || string(got.Data) != string(planned.Data) {
		t.Fatalf("SnapshotMatching: %v %+v", err, got)
	}
	if _, err := SnapshotMatching(dir, nil, "sha256:00"); err == nil {
		t.Error("an unknown digest matched")
	}
}
