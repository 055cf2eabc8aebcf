package xmlrpc

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// oracleScript encodes each case with Python's own xmlrpc.client
// Marshaller, with the dump_int of koji.xmlrpcplus.ExtendedMarshaller and
// the methodCall wrapping of koji.xmlrpcplus.dumps, and checks that Python
// reads the Go encoding back as the same values.
const oracleScript = `
import sys, json, base64, datetime, xmlrpc.client as x

class M(x.Marshaller):
    dispatch = x.Marshaller.dispatch.copy()
    def dump_int(self, value, write):
        if value > 2**63 - 1 or value < -2**63:
            raise OverflowError("long int exceeds XML-RPC limits")
        elif value > x.MAXINT or value < x.MININT:
            write("<value><i8>"); write(str(int(value))); write("</i8></value>\n")
        else:
            write("<value><int>"); write(str(int(value))); write("</int></value>\n")
    dispatch[int] = dump_int

def build(n):
    t, v = n["t"], n.get("v")
    if t == "nil": return None
    if t == "bool": return v
    if t == "int": return int(v)
    if t == "float": return float.fromhex(v)
    if t == "str": return v
    if t == "bytes": return base64.b64decode(v)
    if t == "time": return datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%S")
    if t == "list": return [build(e) for e in v]
    if t == "dict": return {k: build(e) for k, e in v}
    raise ValueError(t)

for line in sys.stdin:
    case = json.loads(line)
    params = tuple(build(p) for p in case["params"])
    body = M("utf-8", allow_none=True).dumps(params)
    call = "<?xml version='1.0'?>\n<methodCall>\n<methodName>" + case["method"] + "</methodName>\n" + body + "</methodCall>\n"
    back = x.loads(case["go"].encode("utf-8"), use_builtin_types=True)
    print(json.dumps({"py": call, "same": back == (params, case["method"])}))
    sys.stdout.flush()
`

// TestEncodeCall_PythonOracle compares EncodeCall with Python's
// marshaller on random values, byte for byte, when python3 is installed.
func TestEncodeCall_PythonOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: no oracle")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type oracleCase struct {
		Method string `json:"method"`
		Params []any  `json:"params"`
		Go     string `json:"go"`
	}
	var in bytes.Buffer
	var gos [][]byte
	const n = 400
	for i := range n {
		c := oracleCase{Params: []any{}}
		c.Method = fmt.Sprintf("method%d.%s", i, randName(rng))
		var params []any
		for range rng.IntN(4) {
			v, desc := randValue(rng, 3)
			params = append(params, v)
			c.Params = append(c.Params, desc)
		}
		b, err := EncodeCall(c.Method, params...)
		if err != nil {
			t.Fatalf("EncodeCall(%v): %v", params, err)
		}
		c.Go = string(b)
		gos = append(gos, b)
		line, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(line)
		in.WriteByte('\n')
	}
	cmd := exec.CommandContext(t.Context(), python, "-c", oracleScript)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	i := 0
	for ; sc.Scan(); i++ {
		var r struct {
			Py   string `json:"py"`
			Same bool   `json:"same"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Py != string(gos[i]) {
			t.Errorf("case %d: EncodeCall differs from Python (-python +go):\n%s", i, cmp.Diff(r.Py, string(gos[i])))
		}
		if !r.Same {
			t.Errorf("case %d: Python does not read the Go encoding back as the same values:\n%s", i, gos[i])
		}
	}
	if i != n {
		t.Errorf("python3 answered %d cases, want %d", i, n)
	}
}

// TestAppendPythonFloat_Oracle compares the float repr with Python's on
// random bit patterns and on awkward decimal values.
func TestAppendPythonFloat_Oracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: no oracle")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var fs []float64
	for range 20000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) {
			continue
		}
		fs = append(fs, f)
	}
	for e := -30; e <= 30; e++ {
		for _, m := range []float64{1, 1.5, 9.999999999999999, 123456789, 0.1} {
			fs = append(fs, m*math.Pow(10, float64(e)), -m*math.Pow(10, float64(e)))
		}
	}
	var in strings.Builder
	for _, f := range fs {
		in.WriteString(strconv.FormatFloat(f, 'x', -1, 64))
		in.WriteByte('\n')
	}
	cmd := exec.CommandContext(t.Context(), python, "-c", "import sys\nfor l in sys.stdin: print(repr(float.fromhex(l.strip())))")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(fs) {
		t.Fatalf("python3 answered %d lines for %d floats", len(lines), len(fs))
	}
	bad := 0
	for i, f := range fs {
		if got := string(appendPythonFloat(nil, f)); got != lines[i] {
			if bad++; bad < 10 {
				t.Errorf("appendPythonFloat(%b) = %s, Python repr %s", f, got, lines[i])
			}
		}
	}
}

// randName is a short ASCII name.
func randName(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
	b := make([]byte, 1+rng.IntN(12))
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// randRunes are the characters random strings are made of: markup that
// must be escaped, quotes, whitespace XML keeps, and non-ASCII text.
var randRunes = []rune("aZ09 <>&;'\"\t\n]]>=/?ž☃😀\u00a0\u2028\ufffd\u007f")

// randValue returns a random value and its description for the oracle.
// Carriage returns are left out: Python writes them raw and loses them.
func randValue(rng *rand.Rand, depth int) (any, map[string]any) {
	kinds := 8
	if depth > 0 {
		kinds = 10
	}
	switch rng.IntN(kinds) {
	case 0:
		return nil, map[string]any{"t": "nil"}
	case 1:
		b := rng.IntN(2) == 1
		return b, map[string]any{"t": "bool", "v": b}
	case 2:
		var n int64
		switch rng.IntN(4) {
		case 0:
			n = int64(rng.IntN(100)) - 50
		case 1:
			n = []int64{math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}[rng.IntN(6)]
		case 2:
			n = int64(rng.Int32())
		default:
			n = int64(rng.Uint64())
		}
		return n, map[string]any{"t": "int", "v": strconv.FormatInt(n, 10)}
	case 3:
		var f float64
		switch rng.IntN(3) {
		case 0:
			f = float64(rng.IntN(1<<20)) / 1000
		case 1:
			f = 1795267552 + rng.Float64()
		default:
			f = math.Float64frombits(rng.Uint64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = 0.5
			}
		}
		return f, map[string]any{"t": "float", "v": strconv.FormatFloat(f, 'x', -1, 64)}
	case 4, 5:
		r := make([]rune, rng.IntN(12))
		for i := range r {
			r[i] = randRunes[rng.IntN(len(randRunes))]
		}
		return string(r), map[string]any{"t": "str", "v": string(r)}
	case 6:
		b := make([]byte, rng.IntN(130))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b, map[string]any{"t": "bytes", "v": base64.StdEncoding.EncodeToString(b)}
	case 7:
		tm := time.Date(1+rng.IntN(9999), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), 0, time.UTC)
		return tm, map[string]any{"t": "time", "v": tm.Format("2006-01-02T15:04:05")}
	case 8:
		var vs []any
		var ds []any
		for range rng.IntN(4) {
			v, d := randValue(rng, depth-1)
			vs, ds = append(vs, v), append(ds, d)
		}
		if vs == nil {
			vs, ds = []any{}, []any{}
		}
		return vs, map[string]any{"t": "list", "v": ds}
	default:
		s := Struct{}
		ds := []any{}
		seen := map[string]bool{}
		for range rng.IntN(4) {
			k := randName(rng)
			if rng.IntN(4) == 0 {
				k += "&<>"
			}
			if seen[k] {
				continue // a Python dict has each key once
			}
			seen[k] = true
			v, d := randValue(rng, depth-1)
			s = append(s, Member{Name: k, Value: v})
			ds = append(ds, []any{k, d})
		}
		return s, map[string]any{"t": "dict", "v": ds}
	}
}
