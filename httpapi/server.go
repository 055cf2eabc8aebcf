package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rida-build/rida"
)

// Config is what the server needs besides the service.
type Config struct {
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Maintenance refuses write requests with 503.
	Maintenance bool
	// AuthMethod is reported by GET about/ ("none" until authentication is
	// configured).
	AuthMethod string
	// RebuildStrategy is the default strategy; AllowedRebuildStrategies are
	// the ones a submitter may choose when AllowRebuildStrategyOverride.
	RebuildStrategy              rida.RebuildStrategy
	AllowRebuildStrategyOverride bool
	AllowedRebuildStrategies     []rida.RebuildStrategy
	// Auth authenticates requests and authorizes actions; nil is MBS's
	// NO_AUTH (anonymous requests, the body's owner owns a submission).
	Auth Authenticator
	// SubmitLimiter, when set, bounds each user's submissions (429).
	SubmitLimiter Limiter
	// TLS, when set, makes Open serve HTTPS (and lets clients present
	// certificates).
	TLS *tls.Config
	// Events serves the live event stream (GET /rida/module-builds/{id}/
	// events); nil answers it with 503. EventsChanged, when not nil,
	// returns a channel closed when events are next committed in this
	// process; streams also poll, for events other processes commit.
	// TopicPrefix is the bus's, for the message ids the stream shows.
	Events        EventReader
	EventsChanged func() <-chan struct{}
	TopicPrefix   string
}

// DefaultConfig returns MBS's defaults: 1 MiB bodies, changed-and-after.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:             1 << 20,
		AuthMethod:               "none",
		RebuildStrategy:          rida.RebuildChangedAndAfter,
		AllowedRebuildStrategies: []rida.RebuildStrategy{rida.RebuildAll, rida.RebuildChangedAndAfter, rida.RebuildOnlyChanged},
	}
}

// Server serves the API over a rida.ModuleBuildService.
type Server struct {
	service rida.ModuleBuildService
	logger  *slog.Logger
	config  Config
	mux     *http.ServeMux
	handler http.Handler

	ln  net.Listener
	srv *http.Server
}

// NewServer returns a Server; it does not listen until Open.
func NewServer(service rida.ModuleBuildService, logger *slog.Logger, config Config) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{service: service, logger: logger, config: config, mux: http.NewServeMux()}
	s.routes()
	s.handler = s.withRequestID(s.withAccessLog(s.withRecover(s.withLimits(s.withAuth(http.HandlerFunc(s.dispatch))))))
	return s
}

// ServeHTTP lets the Server be mounted or tested without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Open listens on addr ("host:port"; port 0 picks a free one) and serves in
// the background.
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if s.config.TLS != nil {
		ln = tls.NewListener(ln, s.config.TLS)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on, after Open.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting requests and waits for running ones until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// handlerFunc is a handler that returns its error for the wrapper to render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h on pattern behind the error-rendering wrapper.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) routes() {
	s.registerSeedRoutes()
	s.registerModuleRoutes()
	s.registerComponentRoutes()
	s.registerEventRoutes()
	s.handle("GET /module-build-service/{v}/about/{$}", s.getAbout)
	s.handle("GET /module-build-service/{v}/rebuild-strategies/{$}", s.getRebuildStrategies)
	s.handle("POST /module-build-service/{v}/import-module/{$}", s.importModule)
}

// dispatch routes through the mux but renders its 404 and 405 answers as
// JSON: the mux's own are plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		// The mux, not h, must serve: it sets the request's path values.
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, r, &statusError{http.StatusMethodNotAllowed, fmt.Sprintf("The method %s is not allowed for this URL; allowed: %s", r.Method, probe.header.Get("Allow"))})
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// The mux redirects a path missing its trailing slash.
		http.Redirect(w, r, probe.header.Get("Location"), probe.status)
	default:
		s.writeError(w, r, &statusError{http.StatusNotFound, "The requested URL was not found on the server."})
	}
}

// statusProbe records what the mux's fallback handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }

// writeError renders err as MBS's error JSON and logs it if it is ours.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.logger.ErrorContext(r.Context(), "request failed", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if refusalStatus(status) {
		s.logger.InfoContext(r.Context(), "request refused", "request_id", requestID(r.Context()), "user", userName(rida.UserFromContext(r.Context())),
			"method", r.Method, "path", r.URL.Path, "status", status, "reason", msg, "err", err)
	}
	if status == http.StatusUnauthorized && s.config.Auth != nil {
		for _, c := range s.config.Auth.Challenges() {
			w.Header().Add("WWW-Authenticate", c)
		}
	}
	if werr := writeJSON(w, status, errorBody{Status: status, Error: http.StatusText(status), Message: msg}); werr != nil {
		s.logger.DebugContext(r.Context(), "write error response", "err", werr)
	}
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID takes a sane X-Request-ID from the client or makes one, and
// echoes it, so a user's report can be matched to the log line.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (event streams
// flush through it).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("request_id", requestID(r.Context())), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

// withRecover turns a panic into a logged 500 JSON answer, never an HTML page
// or a dropped connection.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withLimits bounds request bodies and refuses writes in maintenance mode.
func (s *Server) withLimits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.config.Maintenance && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			s.writeError(w, r, rida.Errorf(rida.CodeUnavailable, "The service is in maintenance mode: write requests are refused until it ends."))
			return
		}
		if r.ContentLength > s.config.MaxBodyBytes {
			s.writeError(w, r, &http.MaxBytesError{Limit: s.config.MaxBodyBytes})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.config.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// apiVersion reads {v} from the path: MBS serves 1 and 2 only.
func apiVersion(r *http.Request) (int, error) {
	switch r.PathValue("v") {
	case "1":
		return 1, nil
	case "2":
		return 2, nil
	}
	return 0, rida.Errorf(rida.CodeNotFound, "The requested API version is not available")
}

func pathID(r *http.Request, notFound error) (int64, error) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return 0, notFound
	}
	return id, nil
}

func parseID(s string) (int64, error) {
	var id int64
	if s == "" || len(s) > 18 {
		return 0, errors.New("bad id")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("bad id")
		}
		id = id*10 + int64(c-'0')
	}
	return id, nil
}

func cors(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }

func (s *Server) getAbout(w http.ResponseWriter, r *http.Request) error {
	if _, err := apiVersion(r); err != nil {
		return err
	}
	cors(w)
	return writeJSON(w, http.StatusOK, struct {
		APIVersion int    `json:"api_version"`
		AuthMethod string `json:"auth_method"`
		Version    string `json:"version"`
	}{2, s.config.AuthMethod, rida.BuildVersion()})
}

func (s *Server) getRebuildStrategies(w http.ResponseWriter, r *http.Request) error {
	if _, err := apiVersion(r); err != nil {
		return err
	}
	type item struct {
		Allowed     bool   `json:"allowed"`
		Default     bool   `json:"default"`
		Description string `json:"description"`
		Name        string `json:"name"`
	}
	items := make([]item, 0, len(rida.RebuildStrategies))
	for _, rs := range rida.RebuildStrategies {
		isDefault := rs.Strategy == s.config.RebuildStrategy
		allowed := isDefault
		if s.config.AllowRebuildStrategyOverride {
			for _, a := range s.config.AllowedRebuildStrategies {
				allowed = allowed || a == rs.Strategy
			}
		}
		items = append(items, item{Allowed: allowed, Default: isDefault, Description: rs.Description, Name: string(rs.Strategy)})
	}
	cors(w)
	return writeJSON(w, http.StatusOK, struct {
		Items []item `json:"items"`
	}{items})
}
