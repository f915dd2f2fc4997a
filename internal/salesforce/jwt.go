package salesforce

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// JWTConfig selects the OAuth 2.0 JWT bearer flow: cxaudit signs an
// assertion with the connected app's private key and trades it at the
// login URL's token endpoint for an access token, and again whenever the
// token is refused (401 INVALID_SESSION_ID). No user password and no
// refresh token are involved.
type JWTConfig struct {
	// ClientID is the connected app's consumer key (the assertion's iss).
	ClientID string
	// Username is the Salesforce user cxaudit acts as (sub).
	Username string
	// PrivateKey is the PEM-encoded RSA private key (PKCS#1 or PKCS#8)
	// whose certificate the connected app holds. It never appears in
	// errors or logs.
	PrivateKey []byte
	// LoginURL is where the assertion is posted (its token endpoint):
	// https://login.salesforce.com, https://test.salesforce.com for
	// sandboxes, or the org's My Domain login URL.
	LoginURL string
	// Audience is the assertion's aud. Salesforce wants the authorization
	// server, https://login.salesforce.com or https://test.salesforce.com
	// (or an Experience Cloud site's URL), even when the assertion is
	// posted to a My Domain: an aud of the My Domain is refused with
	// invalid_grant. Empty: DefaultAudience(LoginURL).
	Audience string
}

// The audiences of production orgs and of sandboxes.
const (
	ProductionAudience = "https://login.salesforce.com"
	SandboxAudience    = "https://test.salesforce.com"
)

// DefaultAudience is the aud for assertions posted to loginURL: the
// sandbox audience for test.salesforce.com and sandbox My Domains
// (<name>--<sandbox>.sandbox.my.salesforce.com), else the production one.
func DefaultAudience(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err == nil && (u.Hostname() == "test.salesforce.com" || strings.Contains(u.Hostname(), ".sandbox.")) {
		return SandboxAudience
	}
	return ProductionAudience
}

// AssertionTTL is the lifetime of a signed assertion; Salesforce accepts
// at most three minutes.
const AssertionTTL = 2 * time.Minute

type jwtAuth struct {
	cfg    JWTConfig
	key    *rsa.PrivateKey
	client *http.Client
	now    func() time.Time
}

func newJWTAuth(cfg JWTConfig, httpOpts remote.Options) (*jwtAuth, error) {
	if cfg.ClientID == "" {
		return nil, cxaudit.Invalidf("JWTConfig.ClientID", "salesforce: JWTConfig.ClientID and JWTConfig.Username are required")
	}
	if cfg.Username == "" {
		return nil, cxaudit.Invalidf("JWTConfig.Username", "salesforce: JWTConfig.ClientID and JWTConfig.Username are required")
	}
	u, err := url.Parse(cfg.LoginURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, cxaudit.Invalidf("JWTConfig.LoginURL", "salesforce: JWTConfig.LoginURL %q is not an http(s) URL (e.g. https://login.salesforce.com)", cfg.LoginURL)
	}
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience(cfg.LoginURL)
	} else if a, err := url.Parse(cfg.Audience); err != nil || (a.Scheme != "https" && a.Scheme != "http") || a.Host == "" {
		return nil, cxaudit.Invalidf("JWTConfig.Audience", "salesforce: JWTConfig.Audience %q is not an http(s) URL (e.g. https://login.salesforce.com)", cfg.Audience)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		// The parser's message says nothing of the key's bytes, but it is
		// not repeated: a short fixed message is enough.
		return nil, cxaudit.Invalidf("JWTConfig.PrivateKey", "salesforce: JWTConfig.PrivateKey is not a PEM-encoded RSA private key (PKCS#1 or PKCS#8)")
	}
	// The token endpoint is not part of the org's API budget.
	httpOpts.Budget = nil
	return &jwtAuth{cfg: cfg, key: key, client: remote.NewClient(httpOpts), now: time.Now}, nil
}

// assertion returns a signed JWT bearer assertion.
func (a *jwtAuth) assertion() (string, error) {
	now := a.now()
	claims := jwt.RegisteredClaims{
		Issuer:    a.cfg.ClientID,
		Subject:   a.cfg.Username,
		Audience:  jwt.ClaimStrings{a.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(now.Add(AssertionTTL)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
}

// token fetches a fresh access token and the instance URL to use it on.
func (a *jwtAuth) token(ctx context.Context) (token, instance string, err error) {
	assertion, err := a.assertion()
	if err != nil {
		return "", "", cxaudit.Errorf(cxaudit.EINVALID, "salesforce: signing the JWT bearer assertion failed")
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.LoginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", cxaudit.Errorf(cxaudit.EINVALID, "salesforce: token request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", "", &cxaudit.Error{Code: cxaudit.EUNAVAILABLE, Message: "salesforce: token request", Err: ctx.Err()}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries no secret, but the form is not in it either way
		}
		return "", "", cxaudit.Errorf(cxaudit.EUNAVAILABLE, "salesforce: token request to %s: %v", a.cfg.LoginURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusOK {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &oe)
		code := cxaudit.EUNAVAILABLE
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			code = cxaudit.EUNAUTHORIZED
		}
		msg := "HTTP " + http.StatusText(resp.StatusCode)
		if oe.Error != "" {
			msg = oe.Error
			if oe.Description != "" {
				msg += " (" + oe.Description + ")"
			}
		}
		return "", "", cxaudit.Errorf(code, "salesforce: JWT bearer token refused by %s for user %q: %s", a.cfg.LoginURL, a.cfg.Username, msg)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", "", malformedf("token request", "no access_token in the token response")
	}
	u, err := url.Parse(tr.InstanceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", malformedf("token request", "instance_url %q is not an http(s) URL", tr.InstanceURL)
	}
	return tr.AccessToken, strings.TrimRight(tr.InstanceURL, "/"), nil
}

// login fetches a fresh token and installs it. The caller holds c.mu. A
// refused assertion marks the system unauthorized in the budget (readiness
// reports it, calls stop for the back-off); a granted one clears that state,
// since the credentials work again.
func (c *Client) login(ctx context.Context) error {
	tok, instance, err := c.jwt.token(ctx)
	if err != nil {
		var e *cxaudit.Error
		if c.budget != nil && errors.As(err, &e) && e.Code == cxaudit.EUNAUTHORIZED {
			c.budget.MarkUnauthorized("JWT bearer token refused")
		}
		return err
	}
	c.tokenMu.Lock()
	c.token = tok
	c.tokenMu.Unlock()
	c.sf.SetSidLoc(tok, instance)
	if c.budget != nil {
		c.budget.ResetAuth()
	}
	c.logger.Debug("salesforce access token obtained through the JWT bearer flow", "instance_url", instance)
	return nil
}

// sessionRefused reports whether err is a 401 (INVALID_SESSION_ID: the
// session expired or was revoked).
func sessionRefused(err error) bool {
	var re *responseError
	return errors.As(err, &re) && re.status == http.StatusUnauthorized
}
