package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/rida-build/rida"
)

// Authenticator identifies callers and authorizes their actions
// (auth.Guard). Without one the server is MBS's NO_AUTH: every request is
// anonymous and a submission's "owner" names its owner.
type Authenticator interface {
	// Authenticate returns the user r's credentials prove; nil and no
	// error when r carries none; an error (unauthorized, or unavailable
	// when an issuer or group source cannot answer) otherwise.
	Authenticate(r *http.Request) (*rida.User, error)
	// Authorize says whether u (nil: anonymous) may do action: nil, or an
	// unauthorized or forbidden error saying why not.
	Authorize(u *rida.User, action rida.Action) error
	// Challenges are the WWW-Authenticate values of a 401.
	Challenges() []string
}

// Limiter bounds events per key (auth.RateLimiter).
type Limiter interface {
	// Allow takes one event for key, or says how long until one is
	// available.
	Allow(key string) (bool, time.Duration)
}

// withAuth authenticates every request that carries credentials (refused
// credentials are a 401 even on reads, so a stale token is noticed), puts
// the user in the request context for the service's ownership checks, and
// authorizes reads; writes are authorized by their handlers, which know the
// action.
func (s *Server) withAuth(next http.Handler) http.Handler {
	if s.config.Auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.config.Auth.Authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if u != nil {
			r = r.WithContext(rida.NewContextWithUser(r.Context(), u))
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			if _, err := s.authorize(r, rida.ActionRead); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks that the request's user may do action. An allowed
// decision is logged here with the user; a refusal is returned, and logged
// with the user where it is written. Without an Authenticator everything is
// allowed and the user is nil.
func (s *Server) authorize(r *http.Request, action rida.Action) (*rida.User, error) {
	if s.config.Auth == nil {
		return nil, nil
	}
	u := rida.UserFromContext(r.Context())
	if err := s.config.Auth.Authorize(u, action); err != nil {
		// Logged once, with the user, by writeError ("request refused").
		return u, err
	}
	// Reads are many and routine: their decisions are debug lines.
	level := slog.LevelInfo
	if action == rida.ActionRead {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{slog.String("request_id", requestID(r.Context())), slog.String("user", userName(u)),
		slog.String("action", string(action)), slog.String("path", r.URL.Path), slog.Bool("allowed", true)}
	if u != nil {
		attrs = append(attrs, slog.String("method", u.Method), slog.Bool("admin", u.Admin))
	}
	s.logger.LogAttrs(r.Context(), level, "authorization", attrs...)
	return u, nil
}

func userName(u *rida.User) string {
	if u == nil {
		return anonymous
	}
	return u.Name
}

// actingUser returns the user a write acts as: without authentication the
// body's owner (MBS's NO_AUTH) or anonymous; with it the authenticated user,
// and a body owner naming anyone else is refused (MBS refuses any owner
// when NO_AUTH is off; rida accepts the caller's own name, which older
// clients send).
func (s *Server) actingUser(u *rida.User, bodyOwner string) (string, error) {
	if s.config.Auth == nil {
		if bodyOwner == "" {
			return anonymous, nil
		}
		return bodyOwner, nil
	}
	if bodyOwner != "" && bodyOwner != u.Name {
		return "", rida.Errorf(rida.CodeInvalid, "The request contains 'owner' parameter, however NO_AUTH is not allowed: builds belong to the authenticated user (%s), not %s.", u.Name, bodyOwner)
	}
	return u.Name, nil
}

// limitSubmission takes one submission from user's allowance, answering 429
// with Retry-After when it is used up.
func (s *Server) limitSubmission(w http.ResponseWriter, user string) error {
	if s.config.SubmitLimiter == nil {
		return nil
	}
	ok, wait := s.config.SubmitLimiter.Allow(user)
	if ok {
		return nil
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return rida.Errorf(rida.CodeRateLimited, "%s has submitted too many module builds recently; try again in %d seconds.", user, secs)
}

// refusalStatus says whether a status refuses the caller (as opposed to
// failing), for the log line every refusal gets.
func refusalStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
}
