package koji

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// DefaultCGName is the content generator module builds are imported as,
// MBS's: a Koji admin grants it to rida's Koji user (koji
// grant-cg-access) and registers the "module" btype.
const DefaultCGName = "module-build-service"

// Errors of the content generator calls that callers act on, matched with
// errors.Is. The errors returned are *rida.Error values (the code and a
// message for the user) wrapping one of these and the hub's *FaultError.
var (
	// ErrNVRTaken: the NVR cannot be reserved or imported because Koji
	// already has it. Module NVRs are deterministic and never bumped, so
	// the module build fails (ErrAlreadyReserved and ErrBuildExists are
	// both ErrNVRTaken).
	ErrNVRTaken = errors.New("the NVR is taken in Koji")
	// ErrAlreadyReserved: another reservation holds the NVR (CGInitBuild's
	// "Build is already reserved").
	ErrAlreadyReserved = fmt.Errorf("%w: already reserved", ErrNVRTaken)
	// ErrBuildExists: a build of the NVR exists (complete, deleted, being
	// built by a task, or failed with data that forbids reusing it).
	ErrBuildExists = fmt.Errorf("%w: a build exists", ErrNVRTaken)
	// ErrNoCGAccess: rida's Koji user may not act as the content
	// generator, or it does not exist.
	ErrNoCGAccess = errors.New("no access to the Koji content generator")
	// ErrReservationGone: the reservation no longer holds: the token does
	// not match (Koji sweeps reservations, a day old by default; an
	// import or a refund ends them), the build left the BUILDING state or
	// is gone, or another CG holds it.
	ErrReservationGone = errors.New("the Koji reservation is gone")
)

// CGInitBuild reserves nvr for the content generator cg (koji.md §1.2)
// and returns the reserved build's id and the token CGImport and
// CGRefundBuild need. The build is then visible in Koji as BUILDING. A
// taken NVR is a rida.CodeConflict error wrapping ErrAlreadyReserved or
// ErrBuildExists; missing CG access a CodeForbidden one wrapping
// ErrNoCGAccess.
func (c *Client) CGInitBuild(ctx context.Context, cg string, nvr rida.NVR) (buildID int64, token string, err error) {
	if cg == "" {
		return 0, "", rida.Errorf(rida.CodeInvalid, "CGInitBuild of %s: no content generator name", nvr)
	}
	if err := checkNVR(nvr); err != nil {
		return 0, "", err
	}
	data := xmlrpc.Struct{{Name: "name", Value: nvr.Name}, {Name: "version", Value: nvr.Version}, {Name: "release", Value: nvr.Release}}
	v, err := c.Call(ctx, "CGInitBuild", cg, data)
	if err != nil {
		return 0, "", c.cgError(err, cgOp{cg: cg, nvr: nvr})
	}
	r, err := parseReservation(v)
	if err != nil {
		return 0, "", rida.Errorf(rida.CodeUnavailable, "koji CGInitBuild of %s: unexpected reply: %v", nvr, err)
	}
	return r.BuildID, r.Token, nil
}

// CGInitBuilds is CGInitBuild for several NVRs in one multicall: errs[i]
// is reservation i's error, classified as CGInitBuild's. Each call is its
// own savepoint on the hub, so some may succeed while others fail.
func (c *Client) CGInitBuilds(ctx context.Context, cg string, nvrs []rida.NVR) (buildIDs []int64, tokens []string, errs []error, err error) {
	if cg == "" {
		return nil, nil, nil, rida.Errorf(rida.CodeInvalid, "CGInitBuild: no content generator name")
	}
	calls := make([]xmlrpc.Call, len(nvrs))
	for i, nvr := range nvrs {
		if err := checkNVR(nvr); err != nil {
			return nil, nil, nil, err
		}
		calls[i] = xmlrpc.Call{Method: "CGInitBuild", Params: []any{cg,
			xmlrpc.Struct{{Name: "name", Value: nvr.Name}, {Name: "version", Value: nvr.Version}, {Name: "release", Value: nvr.Release}}}}
	}
	res, err := c.Multicall(ctx, calls)
	if err != nil {
		return nil, nil, nil, err
	}
	buildIDs, tokens, errs = make([]int64, len(nvrs)), make([]string, len(nvrs)), make([]error, len(nvrs))
	for i, r := range res {
		if ferr := r.Err(); ferr != nil {
			errs[i] = c.cgError(faultOf("CGInitBuild", ferr), cgOp{cg: cg, nvr: nvrs[i]})
			continue
		}
		got, perr := parseReservation(r.Value)
		if perr != nil {
			errs[i] = rida.Errorf(rida.CodeUnavailable, "koji CGInitBuild of %s: unexpected reply: %v", nvrs[i], perr)
			continue
		}
		buildIDs[i], tokens[i] = got.BuildID, got.Token
	}
	return buildIDs, tokens, errs, nil
}

// cgReservation is CGInitBuild's answer.
type cgReservation struct {
	BuildID int64  `xmlrpc:"build_id"`
	Token   string `xmlrpc:"token"`
}

// parseReservation reads CGInitBuild's {build_id, token}.
func parseReservation(v any) (cgReservation, error) {
	var r cgReservation
	if err := xmlrpc.Unmarshal(v, &r); err != nil {
		return r, err
	}
	if r.BuildID <= 0 || r.Token == "" {
		return r, fmt.Errorf("no build_id and token in %s", describe(v))
	}
	return r, nil
}

// CGRefundBuild gives a reservation back (koji.md §1.3): the reserved
// build becomes state (rida.ComponentFailed or rida.ComponentCanceled) and
// its NVR may be reserved again. A reservation that no longer holds is a
// rida.CodeConflict error wrapping ErrReservationGone.
func (c *Client) CGRefundBuild(ctx context.Context, cg string, buildID int64, token string, state rida.ComponentState) error {
	if state != rida.ComponentFailed && state != rida.ComponentCanceled {
		return rida.Errorf(rida.CodeInvalid, "CGRefundBuild of build %d: state %d: only FAILED (3) and CANCELED (4) are allowed", buildID, state)
	}
	if cg == "" || buildID <= 0 || token == "" {
		return rida.Errorf(rida.CodeInvalid, "CGRefundBuild of build %d: want a content generator, a build id and a token", buildID)
	}
	_, err := c.Call(ctx, "CGRefundBuild", cg, buildID, token, int(state))
	if err != nil {
		return c.cgError(err, cgOp{cg: cg, buildID: buildID})
	}
	return nil
}

// ImportedBuild is the Koji build CGImport made (part of its getBuild
// answer).
type ImportedBuild struct {
	ID      int64  `xmlrpc:"build_id"`
	NVR     string `xmlrpc:"nvr"`
	State   int    `xmlrpc:"state"`
	OwnerID int64  `xmlrpc:"owner_id"`
	Owner   string `xmlrpc:"owner_name"`
}

// CGImport imports a finished build (koji.md §1.4) whose outputs were
// uploaded into dir (see [Client.UploadOutputs]): the metadata travels as
// a struct, as MBS sends it, and token, the reservation's, as the token
// keyword argument. Without a reservation (md.Build.BuildID 0) token must
// be empty; with one it is required. A lost reservation is a
// rida.CodeConflict error wrapping ErrReservationGone, an NVR Koji already
// has one wrapping ErrBuildExists (what MBS tolerates when it re-imports
// without a reservation).
func (c *Client) CGImport(ctx context.Context, md *CGMetadata, dir, token string) (*ImportedBuild, error) {
	nvr := md.Build.NVR()
	switch {
	case md.Build.BuildID != 0 && token == "":
		return nil, rida.Errorf(rida.CodeInvalid, "CGImport of %s: build %d is reserved: its token is needed", nvr, md.Build.BuildID)
	case md.Build.BuildID == 0 && token != "":
		return nil, rida.Errorf(rida.CodeInvalid, "CGImport of %s: a token without a reserved build id in the metadata", nvr)
	case len(md.Buildroots) == 0:
		return nil, rida.Errorf(rida.CodeInvalid, "CGImport of %s: the metadata has no buildroot", nvr)
	}
	if err := checkNVR(nvr); err != nil {
		return nil, err
	}
	if err := checkUploadDir(dir); err != nil {
		return nil, err
	}
	params := []any{md.wire(), dir}
	if token != "" {
		params = append(params, xmlrpc.KwArgs{{Name: "token", Value: token}})
	}
	v, err := c.Call(ctx, "CGImport", params...)
	if err != nil {
		return nil, c.cgError(err, cgOp{cg: md.Buildroots[0].ContentGenerator.Name, nvr: nvr, buildID: md.Build.BuildID})
	}
	var b ImportedBuild
	if err := xmlrpc.Unmarshal(v, &b); err != nil || b.ID <= 0 {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji CGImport of %s: unexpected reply %s", nvr, describe(v))
	}
	return &b, nil
}

// UploadOutputs uploads every output of md into dir, the content of each
// taken from files by file name, as MBS's _upload_outputs does before
// CGImport. Each file must be there with the size and checksum md gives it
// (the hub would refuse the import otherwise), and files must hold no
// other file.
func (c *Client) UploadOutputs(ctx context.Context, dir string, md *CGMetadata, files map[string][]byte) error {
	names := make([]string, 0, len(md.Output))
	for _, o := range md.Output {
		data, ok := files[o.Filename]
		if !ok {
			return rida.Errorf(rida.CodeInvalid, "cannot upload %s to Koji: no such file", o.Filename)
		}
		var sum FileSum
		if o.ChecksumType == "md5" {
			sum = SumBytes(data)
		} else {
			var err error
			if sum, err = SumReader(bytes.NewReader(data), o.ChecksumType); err != nil {
				return err
			}
		}
		if sum.Size != o.Filesize || sum.Checksum != o.Checksum {
			return rida.Errorf(rida.CodeInvalid, "cannot upload %s to Koji: it is %d bytes with %s %s, the metadata says %d bytes with %s",
				o.Filename, sum.Size, o.ChecksumType, sum.Checksum, o.Filesize, o.Checksum)
		}
		names = append(names, o.Filename)
	}
	for name := range files {
		if !slices.Contains(names, name) {
			return rida.Errorf(rida.CodeInvalid, "cannot upload %s to Koji: it is not an output of the metadata", name)
		}
	}
	for _, name := range names {
		if err := c.Upload(ctx, dir, name, bytes.NewReader(files[name])); err != nil {
			return err
		}
	}
	return nil
}

// cgOp is what a CG call was about, for the messages of its errors.
type cgOp struct {
	cg      string
	nvr     rida.NVR // zero for CGRefundBuild
	buildID int64    // 0 for CGInitBuild
}

func (o cgOp) what() string {
	switch {
	case o.nvr.Name != "" && o.buildID != 0:
		return fmt.Sprintf("%s (build %d)", o.nvr, o.buildID)
	case o.nvr.Name != "":
		return o.nvr.String()
	}
	return "build " + strconv.FormatInt(o.buildID, 10)
}

// The hub's faults for the CG calls (koji.md §1.1–§1.4): Koji raises them
// all as GenericError (1000) or AuthError (1002), so their text is all
// there is to tell them apart. They are read here only.
var (
	reBuildExistsID   = regexp.MustCompile(`^Build already exists \(id=(\d+), state=(\w+)\)`)
	reBuildExistsNVR  = regexp.MustCompile(`^(?:Target b|B)uild already exists: (\S+) \(id=(\d+)\)`)
	reCannotRecycle   = regexp.MustCompile(`^Build already exists\. Unable to recycle, (.*)$`)
	reInProgress      = regexp.MustCompile(`^Build already in progress \(task (\d+)\)`)
	reNoCGAccess      = regexp.MustCompile(`^Content generator access required \((.*)\)$`)
	reNoSuchCG        = regexp.MustCompile(`^No such entry in table content_generator: (.*)$`)
	reTokenMismatch   = regexp.MustCompile(`^Token doesn't match build ID (\d+)$`)
	reNotBuilding     = regexp.MustCompile(`^Build ID (\d+) is not in BUILDING state$`)
	reNotReservedByCG = regexp.MustCompile(`^Build ID (\d+) is not reserved by this CG$`)
	reNoSuchBuildID   = regexp.MustCompile(`^No such build: (\d+)$`)
)

// faultAlreadyReserved is CGInitBuild's fault for a reserved NVR.
const faultAlreadyReserved = "Build is already reserved"

// cgError turns a fault of a CG call into the error callers act on: a
// *rida.Error with a code and a message naming the NVR or build and what
// to do, wrapping the class (ErrNVRTaken, ...) and the fault. Other
// errors, and faults that are rida's own mistakes, come back as they are.
func (c *Client) cgError(err error, op cgOp) error {
	var fe *FaultError
	if !errors.As(err, &fe) {
		return err
	}
	wrap := func(code rida.ErrorCode, class error, format string, args ...any) error {
		return &rida.Error{Code: code, Message: fmt.Sprintf(format, args...), Err: fmt.Errorf("%w: %w", class, fe)}
	}
	s := fe.String
	switch fe.Code {
	case FaultAuth:
		if m := reNoCGAccess.FindStringSubmatch(s); m != nil {
			user := c.profile.User
			if user == "" {
				user = "<rida's Koji user>"
			}
			return wrap(rida.CodeForbidden, ErrNoCGAccess,
				"Koji refused %s: rida's Koji user may not act as the content generator %s; a Koji admin must run `koji grant-cg-access %s %s`",
				op.what(), m[1], user, m[1])
		}
	case FaultGeneric:
		if m := reNoSuchCG.FindStringSubmatch(s); m != nil {
			return wrap(rida.CodeForbidden, ErrNoCGAccess,
				"Koji refused %s: there is no content generator %s; a Koji admin must create it and grant it to rida's Koji user (`koji grant-cg-access --new <user> %s`)",
				op.what(), m[1], m[1])
		}
		if s == faultAlreadyReserved {
			return wrap(rida.CodeConflict, ErrAlreadyReserved,
				"The NVR %s is already reserved in Koji (a BUILDING build held by another, or an earlier interrupted, content generator run): it cannot be reserved twice, and module NVRs are never bumped; that build must be refunded or canceled in Koji (koji cancel-build) first",
				op.nvr)
		}
		if m := reBuildExistsID.FindStringSubmatch(s); m != nil {
			return wrap(rida.CodeConflict, ErrBuildExists,
				"The NVR %s already exists in Koji (build %s, %s): module NVRs are deterministic and never bumped, so this module version and context cannot be imported again",
				op.nvr, m[1], m[2])
		}
		if m := reBuildExistsNVR.FindStringSubmatch(s); m != nil {
			return wrap(rida.CodeConflict, ErrBuildExists,
				"The NVR %s already exists in Koji (build %s): module NVRs are deterministic and never bumped, so this module version and context cannot be imported again",
				m[1], m[2])
		}
		if m := reInProgress.FindStringSubmatch(s); m != nil {
			return wrap(rida.CodeConflict, ErrBuildExists,
				"The NVR %s is being built in Koji by task %s: module NVRs are never bumped, so it cannot be reserved", op.nvr, m[1])
		}
		if m := reCannotRecycle.FindStringSubmatch(s); m != nil {
			return wrap(rida.CodeConflict, ErrBuildExists,
				"The NVR %s exists in Koji as a failed or canceled build that cannot be reused (it %s): module NVRs are never bumped, so it cannot be reserved",
				op.nvr, m[1])
		}
		for _, re := range []*regexp.Regexp{reTokenMismatch, reNotBuilding, reNotReservedByCG, reNoSuchBuildID} {
			if m := re.FindStringSubmatch(s); m != nil {
				return wrap(rida.CodeConflict, ErrReservationGone,
					"The Koji reservation of %s is gone (Koji: %q): Koji sweeps reservations (a day old by default) and an import, refund or cancel ends them; retrying will not help, the NVR must be reserved again",
					op.what(), s)
			}
		}
	}
	return err
}
