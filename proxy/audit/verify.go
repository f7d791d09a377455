package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Problem is what verification found wrong with a chain, named by the kind of
// tampering that explains it.
type Problem string

const (
	// Edited: the record's MAC does not match its bytes. It was changed, or written by
	// someone without the key of its epoch (a forged insertion).
	Edited Problem = "edited"
	// Deleted: a gap in seq; the missing records appear nowhere later.
	Deleted Problem = "deleted"
	// Inserted: a genuine record appears a second time (a copy put back in).
	Inserted Problem = "inserted"
	// Reordered: the record expected next comes later, or the key epoch goes back.
	Reordered Problem = "reordered"
	// Unlinked: seq follows but prev is not the MAC of the record before: records
	// were removed and the gap hidden, or two chains were spliced together.
	Unlinked Problem = "unlinked"
	// Malformed: the line is not a sealed record at all.
	Malformed Problem = "malformed"
	// Forged: the record is sealed with the key of a later epoch than its place in
	// the chain allows: written by someone who held a later key.
	Forged Problem = "forged"
	// Truncated: the chain ends before the record an anchor names.
	Truncated Problem = "truncated"
)

// ChainError locates the first problem verification found.
type ChainError struct {
	File    string
	Line    int    // 1-based; 0 when the problem is the end of the chain
	Seq     uint64 // the record's seq; 0 when it could not be read
	Problem Problem
	Detail  string
}

func (e *ChainError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Seq > 0 {
		where += " (seq " + strconv.FormatUint(e.Seq, 10) + ")"
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Problem, e.Detail)
}

// Anchor is a record's seq and MAC kept outside the log (printed by verify, shipped to
// another system), so that a later verification can prove the chain still reaches it.
type Anchor struct {
	Seq uint64
	MAC string
}

// ParseAnchor parses "SEQ:MAC".
func ParseAnchor(s string) (Anchor, error) {
	seq, mac, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 || len(mac) != 64 {
		return Anchor{}, fmt.Errorf("anchor %q: want SEQ:MAC, the MAC in 64 hex digits", s)
	}
	return Anchor{Seq: n, MAC: strings.ToLower(mac)}, nil
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Anchor, if set, must be in the chain: a chain that ends before it was truncated.
	Anchor *Anchor
}

// Summary describes a chain that verified.
type Summary struct {
	Files, Records        int
	FirstSeq, LastSeq     uint64
	FirstEpoch, LastEpoch uint64
	LastMAC               string
	// Genesis is true when the chain begins with its very first record (seq 1); when
	// false, earlier records were not given and could not be checked.
	Genesis bool
	// Stopped is true when the last record is the checkpoint of a clean stop. When
	// false, pgmask is still writing, stopped abruptly, or the tail was removed, which
	// only an anchor can tell apart.
	Stopped bool
	// Warnings are oddities that are not tampering (a last line cut short by a crash).
	Warnings []string
}

// Input is one file of a chain.
type Input struct {
	Name string
	R    io.Reader
}

// maxEpochStep bounds how far the key epoch may move in one record: far more than
// rotation can produce, and few enough HMACs that a forged epoch cannot stall Verify.
const maxEpochStep = 1 << 20

// header is what verification reads of a record.
type header struct {
	Seq    uint64  `json:"seq"`
	Epoch  uint64  `json:"epoch"`
	Kind   Kind    `json:"kind"`
	Reason string  `json:"reason"`
	Prev   *string `json:"prev"`
}

// VerifyFiles verifies the chain held by the files at paths, taken in the order of
// their first seq (so rotated files may be given in any order).
func VerifyFiles(key []byte, paths []string, opts VerifyOptions) (Summary, error) {
	sorted, err := SortFiles(paths)
	if err != nil {
		return Summary{}, err
	}
	inputs := make([]Input, 0, len(sorted))
	for _, p := range sorted {
		f, err := os.Open(p)
		if err != nil {
			return Summary{}, err
		}
		defer f.Close()
		inputs = append(inputs, Input{Name: p, R: f})
	}
	return Verify(key, inputs, opts)
}

// SortFiles orders audit files by the seq of their first record. If a first record
// cannot be read, the order is left as given and verification reports the problem.
func SortFiles(paths []string) ([]string, error) {
	type file struct {
		path string
		seq  uint64
	}
	files := make([]file, 0, len(paths))
	for _, p := range paths {
		seq, ok, err := firstSeq(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			return paths, nil
		}
		files = append(files, file{p, seq})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].seq < files[j].seq })
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.path
	}
	return out, nil
}

func firstSeq(path string) (uint64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return ^uint64(0), true, nil // empty files go last and verify trivially
	}
	var h header
	if json.Unmarshal(line, &h) != nil {
		return 0, false, nil
	}
	return h.Seq, true, nil
}

// Verify checks a chain given as inputs in order and returns its Summary, or a
// *ChainError at the first record where it was tampered with. Only the initial key is
// needed: the key of every epoch is derived from it.
func Verify(key []byte, inputs []Input, opts VerifyOptions) (Summary, error) {
	v := &verifier{keys: keyCache{initial: bytes.Clone(key)}, lines: &lineReader{inputs: inputs}}
	v.sum.Files = len(inputs)
	err := v.run(opts)
	clear(v.keys.initial)
	clear(v.keys.key)
	return v.sum, err
}

type verifier struct {
	keys    keyCache
	lines   *lineReader
	sum     Summary
	lastMAC string
	last    line
	anchor  bool // the anchor's record was seen
	// endsEpoch is true when the last record ended its epoch.
	endsEpoch bool
}

func (v *verifier) run(opts VerifyOptions) error {
	for {
		ln, ok, err := v.lines.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !ln.complete {
			if _, _, ok := splitLine(ln.text); !ok {
				v.sum.Warnings = append(v.sum.Warnings, fmt.Sprintf("%s:%d: incomplete last line ignored (a write cut short by a crash?)", ln.file, ln.no))
				continue
			}
		}
		if err := v.record(ln, opts); err != nil {
			return err
		}
	}
	if a := opts.Anchor; a != nil && !v.anchor {
		return &ChainError{File: v.last.file, Problem: Truncated,
			Detail: fmt.Sprintf("the chain ends at seq %d, but the anchor names seq %d: records were removed from the end", v.sum.LastSeq, a.Seq)}
	}
	return nil
}

func (v *verifier) record(ln line, opts VerifyOptions) error {
	fail := func(seq uint64, p Problem, format string, args ...any) error {
		return &ChainError{File: ln.file, Line: ln.no, Seq: seq, Problem: p, Detail: fmt.Sprintf(format, args...)}
	}
	body, mac, ok := splitLine(ln.text)
	if !ok {
		return fail(0, Malformed, "not a sealed audit record (a line must end with its \"mac\")")
	}
	var h header
	if err := json.Unmarshal(body, &h); err != nil || h.Seq == 0 || h.Prev == nil {
		return fail(0, Malformed, "not an audit record")
	}
	first := v.sum.Records == 0
	if !first && (h.Epoch > v.sum.LastEpoch+maxEpochStep) || first && h.Epoch > maxEpochStep {
		return fail(h.Seq, Edited, "key epoch %d is implausible", h.Epoch)
	}
	if !checkMAC(v.keys.get(h.Epoch), body, mac) {
		return fail(h.Seq, Edited, "the MAC does not match: the record was changed, or written without the key of epoch %d", h.Epoch)
	}

	if first {
		v.sum.FirstSeq, v.sum.FirstEpoch = h.Seq, h.Epoch
		v.sum.Genesis = h.Seq == 1
		if h.Seq == 1 && *h.Prev != "" {
			return fail(h.Seq, Unlinked, "the first record of a chain must have an empty prev")
		}
		if h.Seq == 1 && h.Epoch != 0 { // else a later key could forge a whole new chain
			return fail(h.Seq, Edited, "the first record of a chain must be sealed in epoch 0, not %d", h.Epoch)
		}
	} else {
		expect := v.sum.LastSeq + 1
		switch {
		case h.Seq == expect && *h.Prev != v.lastMAC:
			return fail(h.Seq, Unlinked, "prev is not the MAC of the record before it (%s:%d, seq %d): records were removed or reordered, or two chains spliced",
				v.last.file, v.last.no, v.sum.LastSeq)
		case h.Seq == expect && v.endsEpoch && h.Epoch != v.sum.LastEpoch+1:
			return fail(h.Seq, Forged, "epoch %d ended with the record before, so this one must be in epoch %d, not %d", v.sum.LastEpoch, v.sum.LastEpoch+1, h.Epoch)
		case h.Seq == expect && !v.endsEpoch && h.Epoch != v.sum.LastEpoch:
			return fail(h.Seq, Forged, "epoch %d did not end with a checkpoint, so this record must be in it, not in epoch %d", v.sum.LastEpoch, h.Epoch)
		case h.Seq > expect:
			if file, no, found := v.lines.find(expect); found {
				return fail(h.Seq, Reordered, "seq %d was expected next but comes later, at %s:%d: records were reordered", expect, file, no)
			}
			if h.Seq == expect+1 {
				return fail(h.Seq, Deleted, "seq %d is missing: a record was deleted", expect)
			}
			return fail(h.Seq, Deleted, "seqs %d to %d are missing: records (or a whole rotated file) were deleted", expect, h.Seq-1)
		case h.Seq < expect:
			if mac == v.lastMAC {
				return fail(h.Seq, Inserted, "a copy of the record before it was inserted")
			}
			return fail(h.Seq, Inserted, "seq %d was already seen (seq %d expected): a record was inserted again", h.Seq, expect)
		}
	}
	if a := opts.Anchor; a != nil && a.Seq == h.Seq {
		if a.MAC != mac {
			return fail(h.Seq, Edited, "the anchor says this record's MAC is %s: the chain was rewritten after the anchor was taken", a.MAC)
		}
		v.anchor = true
	}
	v.sum.Records++
	v.sum.LastSeq, v.sum.LastEpoch, v.sum.LastMAC = h.Seq, h.Epoch, mac
	v.sum.Stopped = h.Kind == KindCheckpoint && h.Reason == checkpointStop
	v.endsEpoch = endsEpoch(h.Kind, h.Reason)
	v.lastMAC, v.last = mac, ln
	return nil
}

// keyCache derives epoch keys, walking forward from the last one it derived.
type keyCache struct {
	initial []byte
	epoch   uint64
	key     []byte
}

func (k *keyCache) get(epoch uint64) []byte {
	if k.key == nil || epoch < k.epoch {
		clear(k.key)
		k.key, k.epoch = bytes.Clone(k.initial), 0
	}
	for ; k.epoch < epoch; k.epoch++ {
		next := nextKey(k.key)
		clear(k.key)
		k.key = next
	}
	return k.key
}

// line is one line of an input, without its newline.
type line struct {
	file     string
	no       int
	text     []byte
	complete bool // it ended with a newline
}

// lineReader reads the lines of several inputs in order.
type lineReader struct {
	inputs []Input
	cur    *bufio.Reader
	no     int
}

func (r *lineReader) next() (line, bool, error) {
	for len(r.inputs) > 0 {
		if r.cur == nil {
			r.cur, r.no = bufio.NewReaderSize(r.inputs[0].R, 64<<10), 0
		}
		text, err := r.cur.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return line{}, false, fmt.Errorf("reading %s: %w", r.inputs[0].Name, err)
		}
		if len(text) > 0 {
			r.no++
			complete := text[len(text)-1] == '\n'
			return line{file: r.inputs[0].Name, no: r.no, text: bytes.TrimSuffix(text, []byte("\n")), complete: complete}, true, nil
		}
		r.inputs, r.cur = r.inputs[1:], nil
	}
	return line{}, false, nil
}

// find reads on until the record with seq and returns where it is. It consumes the
// rest of the input: verification stops at the first problem anyway.
func (r *lineReader) find(seq uint64) (file string, no int, found bool) {
	for {
		ln, ok, err := r.next()
		if err != nil || !ok {
			return "", 0, false
		}
		var h header
		if json.Unmarshal(ln.text, &h) == nil && h.Seq == seq {
			return ln.file, ln.no, true
		}
	}
}

// String reports a verified chain in a few lines.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OK: %d records in %d files, seq %d to %d, key epochs %d to %d\n",
		s.Records, s.Files, s.FirstSeq, s.LastSeq, s.FirstEpoch, s.LastEpoch)
	if s.Records > 0 {
		fmt.Fprintf(&b, "last record: %d:%s (keep it elsewhere and pass it as --anchor to prove the end was not cut)\n", s.LastSeq, s.LastMAC)
	}
	if !s.Genesis && s.Records > 0 {
		fmt.Fprintf(&b, "note: the chain starts at seq %d; records before it were not given and are not checked\n", s.FirstSeq)
	}
	if !s.Stopped && s.Records > 0 {
		b.WriteString("note: the chain does not end with a stop checkpoint: pgmask is still running or stopped abruptly, or the end was cut (only an anchor can tell)\n")
	}
	for _, w := range s.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return b.String()
}
