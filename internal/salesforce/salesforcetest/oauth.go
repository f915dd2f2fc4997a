package salesforcetest

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTOptions enable the OAuth 2.0 JWT bearer token endpoint
// (POST /services/oauth2/token with
// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer), as a connected
// app with a certificate configures it.
type JWTOptions struct {
	// PublicKey verifies the assertion's RS256 signature (the connected
	// app's certificate).
	PublicKey *rsa.PublicKey
	// ClientID is the connected app's consumer key, the assertion's iss.
	ClientID string
	// Username is the user the assertion's sub must name.
	Username string
	// Audience is the aud the assertion must carry. Salesforce documents
	// it as the authorization server: https://login.salesforce.com,
	// https://test.salesforce.com, or an Experience Cloud site's URL —
	// whatever host the assertion is posted to, a My Domain included
	// ("OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration",
	// https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm).
	// Default https://login.salesforce.com: the simulator is a
	// production org's My Domain.
	Audience string
	// TokenTTL is how long an issued access token is accepted, by the
	// simulator's clock (Options.Now). Zero: until ExpireTokens. The
	// assertion itself is checked against the wall clock it was signed by.
	TokenTTL time.Duration
}

// ProductionAudience is the aud of a production org's assertions.
const ProductionAudience = "https://login.salesforce.com"

// JWTBearerGrant is the grant_type of the JWT bearer flow.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// tokenPath is the token endpoint, on the login URL.
const tokenPath = "/services/oauth2/token"

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
}

// ExpireTokens makes every access token issued so far invalid, as when a
// session times out; the next call with one gets 401 INVALID_SESSION_ID.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.issued)
}

// TokensIssued counts the access tokens the token endpoint issued.
func (s *Sim) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// token serves the token endpoint.
func (s *Sim) token(r *http.Request) response {
	jo := s.opts.JWT
	if jo == nil {
		return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	if r.Method != http.MethodPost {
		return response{http.StatusMethodNotAllowed, oauthError{"invalid_request", "must use HTTP POST"}}
	}
	if err := r.ParseForm(); err != nil {
		return response{http.StatusBadRequest, oauthError{"invalid_request", "malformed form body"}}
	}
	if g := r.PostForm.Get("grant_type"); g != JWTBearerGrant {
		return response{http.StatusBadRequest, oauthError{"unsupported_grant_type", "grant type not supported"}}
	}
	aud := jo.Audience
	if aud == "" {
		aud = ProductionAudience
	}
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), &claims,
		func(*jwt.Token) (any, error) { return jo.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(aud), jwt.WithIssuer(jo.ClientID),
		jwt.WithSubject(jo.Username), jwt.WithExpirationRequired())
	if err != nil {
		// Salesforce answers every assertion problem with invalid_grant.
		return response{http.StatusBadRequest, oauthError{"invalid_grant", "invalid assertion"}}
	}
	if exp := claims.ExpiresAt.Time; time.Until(exp) > 3*time.Minute+time.Second {
		return response{http.StatusBadRequest, oauthError{"invalid_grant", "expiration too far in the future"}}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokensIssued++
	tok := fmt.Sprintf("00Dsim0000000001!sim.%08d.%x", s.tokensIssued, s.rng.Uint64())
	var until time.Time
	if jo.TokenTTL > 0 {
		until = s.opts.Now().Add(jo.TokenTTL)
	}
	s.issued[tok] = until
	return response{http.StatusOK, tokenResponse{
		AccessToken: tok, Scope: "api", InstanceURL: "http://" + r.Host, TokenType: "Bearer",
		ID: "http://" + r.Host + "/id/00Dsim0000000001/005sim0000000001",
	}}
}

// issuedValid reports whether tok is an unexpired issued token. The caller
// holds s.mu.
func (s *Sim) issuedValid(tok string) bool {
	until, ok := s.issued[tok]
	if !ok {
		return false
	}
	if !until.IsZero() && !s.opts.Now().Before(until) {
		delete(s.issued, tok)
		return false
	}
	return true
}

func isTokenPath(p string) bool { return strings.TrimSuffix(p, "/") == tokenPath }
