// Package kojitest is an in-memory Koji hub for tests, as net/http/httptest
// is an HTTP server: tests of other packages start one, point a Koji
// client at its URL and drive its builder through a Go API. It is test
// support only; production code must not import it.
//
// The hub speaks Koji's XML-RPC (through internal/xmlrpc) with the rules
// and the exact fault codes and texts of a Koji 1.35.3 hub (koji.md, and
// kojihub's source where the spec is silent), and its answers are checked
// against the 132 real exchanges of ../shared/testdata/koji (see the
// table below).
//
//	hub := kojitest.NewHub(t, kojitest.Options{})   // kojiadmin/kojiadmin (admin, CG module-build-service), testuser/testuser
//	c, _ := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(),
//		Profile: koji.Profile{Server: hub.URL(), AuthType: koji.AuthPassword, User: "kojiadmin", Password: "kojiadmin"}})
//	... the code under test submits builds ...
//	for _, task := range hub.Tasks("build", kojitest.TaskFree) {
//		hub.CompleteBuild(task.ID, kojitest.BuildResult{NVR: "foo-1.0-1.module_f40"})
//	}
//	hub.RunTasks()                       // tagBuild and newRepo tasks
//	if n := hub.CountCalls("build"); n != 1 { ... }
//
// # What the hub does
//
// Transport: POST only (GET answers 405 with Allow: POST), HTTP 400
// "Invalid request: …" for an empty, unparsable or too long body,
// Koji-Version on every reply, faults with HTTP 200. Calls are bound to
// Python signatures, so a wrong argument gives Koji's ParameterError with
// Python's TypeError text ("get_tag() missing 1 required positional
// argument: 'tagInfo'", "… got an unexpected keyword argument 'x'");
// keyword arguments travel as the "__starstar" struct. multiCall and
// system.multicall run each call on its own (a fault, with a traceback,
// undoes only that call; each change is its own event). Unknown methods
// answer "Invalid method: <name>".
//
// Sessions: login (password), sslLogin on URL()+"/ssllogin" (the user of
// a TLS client certificate with Options.TLS and TLSClient, or over plain
// HTTP the user named by the ClientCertHeader request header; unknown
// users are created as LoginCreatesUser does; with Options.KerberosKeytab,
// the user of a Kerberos ticket sent as "Authorization: Negotiate", checked
// against that keytab), logout, getLoggedInUser.
// The Koji-Session-Id/Key/Callnum headers (or the deprecated query string)
// carry the session; a bad id or key is "Invalid session or bad
// credentials"; the hub stores the callnum of every call that committed
// data, answers SequenceError to a smaller one and RetryError to the same
// one; an expired session (ExpireSession, or Options.SessionTimeout)
// answers AuthExpired until login/sslLogin with renew=True and the old
// headers gives it a new key (same id). Like kojihub's createSession, the
// renewal does not reset the stored callnum: a client must go on counting.
//
// Tags and targets (createTag, getTag, editTag2, deleteTag,
// get/setInheritanceData, getFullInheritance, create/edit/delete/
// getBuildTarget(s)), package lists (packageListAdd/Block/Unblock/Remove,
// listPackages, getPackageID, checkTagPackage, with inheritance and the
// default package_list policy), groups (groupListAdd/Block/Remove,
// groupPackageListAdd/Block/Remove, getTagGroups), builds (getBuild,
// listBuilds, getBuildType, listBTypes, addBType, cancelBuild,
// untaggedBuilds, listRPMs, listBuildRPMs, getRPM, listArchives,
// getAverageBuildDuration), tagging (tagBuild makes a tagBuild task the
// builder runs; tagBuildBypass, untagBuild, untagBuildBypass, listTagged,
// listTaggedRPMS, getLatestBuilds, listTags, with tag access checks and
// the tag history events), external repos (createExternalRepo,
// listExternalRepos, getExternalRepo, addExternalRepoToTag,
// removeExternalRepoFromTag, getTagExternalRepos, getExternalRepoList),
// rpm headers (getRPMHeaders, from RPM.Headers), tasks (build, getTaskInfo, getTaskChildren,
// getTaskDescendents, getTaskResult, getTaskRequest, taskFinished,
// cancelTask, cancelTaskChildren, listTasks), repos (newRepo makes a
// newRepo task; getRepo, repoInfo), the content generator calls
// (CGInitBuild, CGRefundBuild, CGImport with every check of koji.md §1.4
// in Koji's order, grantCGAccess, revokeCGAccess, listCGs), uploads (fast
// upload POSTs of application/octet-stream, uploadFile, checkUpload), and
// users (getUser, getAllPerms, getPerms, getUserPerms, hasPerm,
// grantPermission, createUser), getLastEvent, getEvent, hello, echo and
// the version calls.
//
// A call that fails changes nothing, as Koji's transaction rolls back.
// Ids come from sequences (Options.NextIDs lets a hub continue a story),
// timestamps from Options.Now, formatted as the hub formats them.
//
// # Test API
//
// Setup: Options (users with passwords, permissions and content generator
// grants; build types; packages; archive types; first ids; clock; session
// timeout; TLS; KojiDir as shown in messages; a Builder; AutoRun), New or
// NewHub, URL, Client, Close, AddUser, and for certificate logins
// TLSClient, ClientCert, ClientCertPEM, ServerCAPEM and WriteClientCert
// (koji.conf cert and serverca files).
//
// The builder: Tasks, Task, StartTask (FREE → OPEN), CompleteBuild (a
// build task ends: the build with the test's NVR and rpms is COMPLETE and
// owned by the task, tagged into the target's destination unless
// skip_tag), FailTask (a task FAILED with a fault; its BUILDING builds
// FAILED), CloseTask, RunTask (a tagBuild task tags or fails with the
// hub's error, a newRepo task makes a READY repo and returns [repo_id,
// event_id], a build task asks Options.Builder), RunTasks, and
// Options.AutoRun to run the tasks a request made as soon as it is
// answered. AdvanceEvent records an unrelated event.
//
// Sessions: ExpireSession, ExpireUserSessions, SessionIDs.
//
// Messages: the hub emits what Koji's protonmsg plugin sends (koji.md §4),
// as rida.Message values (topic = the address without its prefix,
// Properties = protonmsg's props, Body = its JSON): build.<state> on every
// build state change (CGInitBuild, CGRefundBuild, CGImport, cancelBuild,
// and the builder's StartBuild, CompleteBuild and FailTask),
// task.<state> on every task state change (creation, open, closed,
// failed, canceled), build.tag and build.untag, repo.init and repo.done
// for a newRepo task. OnMessage hooks receive them once the change is
// visible and the hub's lock is released; Messages lists them. A call
// that fails sends nothing. StartBuild is kojid's initBuild: a build
// task's build BUILDING before CompleteBuild or FailTask ends it.
//
// Content generators: Build, Builds (BuildInfo with the reservation token,
// btypes, rpms, archives and tags), Imports (each successful CGImport with
// its metadata and the files it took), SweepReservations (koji-sweep-db
// --reservations-age), TaggedNVRs, Upload and PutUpload (files below the
// work directory).
//
// Introspection: Calls (every request and every call inside a multicall,
// with its parameters, keyword arguments, headers and fault), CountCalls,
// ResetCalls.
//
// # What it leaves out
//
// Exclusive sessions, subsessions, proxy logins and Kerberos; draft
// builds; maven, win and image builds; hosts, channels (tasks go to
// "default", repos to "createrepo") and the scheduler; hub policies other
// than the defaults (package_list: admin or tag; everything else
// allowed); notifications and the protonmsg messages other than those
// listed above (import.*, package.*, sign.rpm); event history except for tag listings (listTagged and getLatestBuilds honour
// an event, inheritance and package lists are read as they are now); rpm
// header contents (CG rpm outputs get their name from the file name and
// an md5 payloadhash).
//
// # The captured exchanges
//
// TestHub_Captures replays the 132 exchanges of ../shared/testdata/koji in
// order against a hub set up as the capture hub was (users kojiadmin and
// testuser, btype module, packages 1 and 2, sequences where the story
// found them: sessions from 20, tags from 9, targets from 5, builds from
// 7, tasks from 12, events from 49, rpms from 5, archives from 4,
// buildroots from 3, repos from 6) over TLS, and compares every reply:
// HTTP status, Koji-Version, text bodies byte for byte, faults by code and
// string, values member by member. The hub's random session keys and
// reservation tokens are learned from its replies and put into later
// requests in place of the captured ones. Compared by type only: session
// keys, tokens, timestamps (*_time, *_ts, mtime) and multicall
// tracebacks. No exchange is skipped.
//
//	exchanges  calls                                                     compared
//	001–003    hello, getAPIVersion, getKojiVersion                     exactly
//	004–019    login, bad password, getLoggedInUser (headers, query     exactly; keys by type
//	           string, anonymous, bad key), logout, sslLogin with
//	           and without a client certificate, a session used
//	           after logout
//	020–037    getTag, createTag, editTag2, SequenceError and           exactly
//	           RetryError, set/getInheritanceData, targets
//	038–047    groups, getTagGroups, package lists, listBTypes          exactly
//	048–054    CGInitBuild, already reserved, CGRefundBuild, the        exactly; tokens, times by type
//	           recycled reservation, getBuild
//	055–062    checkUpload, fast uploads, uploadFile, anonymous         exactly; mtime by type
//	           upload, "upload path exists"
//	063–074    CGImport (success, wrong/no token, missing key,          exactly; times by type
//	           missing file, bad checksum, existing NVR, import
//	           without a reservation recycling a refunded build)
//	075–086    getBuild, getBuildType, listArchives (in any order),     exactly; times by type
//	           tagBuild, tagBuildBypass, listTagged, untagBuild
//	087–094    build, getTaskInfo, getTaskChildren, cancelTask,         exactly; times by type
//	           getTaskResult, newRepo, getRepo
//	095–096    multiCall, system.multicall                              exactly; tracebacks by type
//	097–103    unknown method, ParameterError, <i8>, echo, HTTP 400     exactly
//	           (truncated and empty body), HTTP 405
//	104–122    the simulated builder's part, played with the test API   exactly; times by type
//	           (RunTask of tagBuild task 12, AdvanceEvent for the
//	           event the capture's builder spent on its own set-up,
//	           StartTask and CompleteBuild of build task 15, RunTask
//	           of tasks 16 and 17)
//	123–132    listTaggedRPMS, getTaskDescendents, listTasks,           exactly, except 128
//	           getPackageID, listBuilds, getAverageBuildDuration,       (an average of this hub's own
//	           getUser, getAllPerms, packageListBlock, logout           timings: a double)
package kojitest
