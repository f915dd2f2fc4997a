package app

import (
	"context"
	"sync"

	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Credentials are read again before every sync, so a rotated token or key
// (a Kubernetes Secret updated in place, mounted as a *_FILE) takes effect
// without a restart. Only the credentials change this way: a new URL or
// database needs a restart.

// credentials is what App keeps to rotate them.
type credentials struct {
	mu      sync.Mutex
	getenv  func(string) string // nil: the environment is not read again
	current config.Config
	zendesk *zendesk.Client
	sf      *salesforce.Client
	sfHTTP  remote.Options // what the JWT bearer flow's token requests go through
}

// refreshCredentials reads the credentials of source again and hands any
// that changed to its client. A configuration that no longer reads (a
// Secret half written) keeps the current credentials and says why.
func (a *App) refreshCredentials(ctx context.Context, source cxaudit.Source) error {
	c := &a.creds
	if c.getenv == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := config.FromEnv(c.getenv)
	if err != nil {
		a.Logger.WarnContext(ctx, "credentials could not be read again; keeping the current ones", "source", source, "error", err)
		return nil
	}
	switch source {
	case cxaudit.SourceZendesk:
		old, now := c.current.Zendesk, next.Zendesk
		if c.zendesk == nil || (old.Email == now.Email && old.APIToken == now.APIToken) {
			return nil
		}
		if err := c.zendesk.SetCredentials(now.Email, now.APIToken.Reveal()); err != nil {
			return err
		}
		c.current.Zendesk = now
		if b := a.Budgets[source]; b != nil {
			b.ResetAuth() // a refusal of the old token says nothing of the new
		}
		a.Logger.InfoContext(ctx, "zendesk credentials changed; using the new ones")
	case cxaudit.SourceSalesforce:
		old, now := c.current.Salesforce, next.Salesforce
		if c.sf == nil {
			return nil
		}
		switch {
		case now.UsesJWT() && (old.ClientID != now.ClientID || old.Username != now.Username ||
			old.PrivateKey != now.PrivateKey || old.LoginURL != now.LoginURL):
			jwt := salesforce.JWTConfig{ClientID: now.ClientID, Username: now.Username, PrivateKey: []byte(now.PrivateKey.Reveal()), LoginURL: now.LoginURL}
			if err := c.sf.SetJWT(jwt, c.sfHTTP); err != nil {
				return err
			}
		case !now.UsesJWT() && old.AccessToken != now.AccessToken:
			c.sf.SetAccessToken(now.AccessToken.Reveal())
		default:
			return nil
		}
		c.current.Salesforce = now
		a.Logger.InfoContext(ctx, "salesforce credentials changed; using the new ones")
	}
	return nil
}
