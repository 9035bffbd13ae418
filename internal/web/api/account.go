package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/web"
	"github.com/danielgtaylor/huma/v2"
)

type signUpInput struct {
	Body struct {
		Email    string `json:"email" format:"email" maxLength:"254" example:"ada@example.com"`
		Password string `json:"password" minLength:"10" maxLength:"1024" doc:"At least 10 characters"`
		Name     string `json:"name" maxLength:"200" example:"Ada Lovelace"`
	}
}

type tokenInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"254"`
		Password string `json:"password" maxLength:"1024"`
	}
}

type bearerInput struct {
	Authorization string `header:"Authorization" doc:"Bearer <token>"`
}

func (h *handler) registerAccounts() {
	huma.Register(h.api, op("signUp", http.MethodPost, "/accounts", "Sign up as an attendee", "Accounts", public, 201, 409),
		func(ctx context.Context, in *signUpInput) (*itemOutput[*admit.User], error) {
			u, err := h.Accounts.CreateUser(ctx, admit.NewUser{Email: in.Body.Email, Password: in.Body.Password, Name: in.Body.Name, Role: admit.RoleAttendee})
			return answer(h, ctx, u, err)
		})

	tokenOp := op("issueToken", http.MethodPost, "/auth/token", "Get a bearer token", "Accounts", public, 200, 401, 429)
	tokenOp.Description = "Wrong email and wrong password get the same 401; repeated failures get 429 with Retry-After."
	huma.Register(h.api, tokenOp, func(ctx context.Context, in *tokenInput) (*itemOutput[*admit.Token], error) {
		tok, err := h.Accounts.IssueToken(ctx, in.Body.Email, in.Body.Password, web.ClientAddr(ctx))
		return answer(h, ctx, tok, err)
	})

	huma.Register(h.api, op("revokeToken", http.MethodDelete, "/auth/token", "Revoke the token sent", "Accounts", bearer, 204),
		func(ctx context.Context, in *bearerInput) (*noContent, error) {
			if _, err := admit.RequireUser(ctx); err != nil {
				return nil, h.fail(ctx, err)
			}
			_, token, _ := strings.Cut(in.Authorization, " ")
			if err := h.Accounts.RevokeToken(ctx, strings.TrimSpace(token)); err != nil {
				return nil, h.fail(ctx, err)
			}
			return &noContent{}, nil
		})

	huma.Register(h.api, op("me", http.MethodGet, "/me", "The caller's account", "Accounts", bearer, 200),
		func(ctx context.Context, _ *struct{}) (*itemOutput[*admit.User], error) {
			u, err := admit.RequireUser(ctx)
			if err != nil {
				return nil, h.fail(ctx, err)
			}
			return &itemOutput[*admit.User]{Body: u}, nil
		})
}
