// Command medicpx-api serves the patient-image API: as a local HTTP server, or, when
// AWS_LAMBDA_RUNTIME_API is set, behind API Gateway (HTTP API, payload v2) with the same router.
// Configuration comes from the environment (see README).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"medicpx/api"
	"medicpx/api/apigw"
	"medicpx/api/jwtsecret"
	"medicpx/api/web"
	"medicpx/shared/config"
	"medicpx/shared/pprofserver"
	"medicpx/shared/s3client"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("api stopped", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := config.LoadAPI(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := s3client.New(ctx, cfg.S3)
	if err != nil {
		return err
	}
	if cfg.JWT.Issuer == "" && cfg.JWT.Audience == "" {
		// Any token signed with the secret is then accepted, including ones the same secret signs
		// for another service; the template's RequireJwtIssuerAudience makes both mandatory.
		log.Warn("JWT_ISSUER and JWT_AUDIENCE are both unset: tokens are not checked for issuer or audience")
	}
	verifier, err := newVerifier(ctx, cfg, log)
	if err != nil {
		return err
	}
	srv := api.New(cfg, client, verifier, log)
	// The pages share the API's origin and router; the dev sign-in exists only in -tags devlogin
	// builds, and only on a loopback listener with a loopback S3 (never in Lambda: no listener).
	lambdaMode := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	pages := web.Options{Secret: []byte(cfg.JWT.Secret), ListenAddr: cfg.Addr, S3Endpoint: cfg.S3.Endpoint, Log: log}
	if lambdaMode {
		pages.ListenAddr = ""
	}
	web.Mount(srv.Router(), pages)

	if lambdaMode {
		lambda.StartWithOptions(apigw.Handler(srv), lambda.WithContext(ctx))
		return nil
	}
	if err := pprofserver.Start(log, "API_PPROF_ADDR"); err != nil {
		return err
	}
	hs := &http.Server{Addr: cfg.Addr, Handler: api.CORS(cfg.CORSOrigins, srv), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("api listening", "addr", cfg.Addr, "bucket", cfg.S3.Bucket, "endpoint", cfg.S3.Endpoint)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newVerifier checks tokens with the secret given (JWT_SECRET), or with the one fetched by
// reference (JWT_SECRET_ID: fetched now, at cold start, and again after a signature failure).
func newVerifier(ctx context.Context, cfg config.API, log *slog.Logger) (*api.Verifier, error) {
	if cfg.JWT.SecretID == "" {
		return api.NewVerifier(ctx, cfg.JWT)
	}
	src, err := jwtsecret.New(ctx, cfg.S3.Region, cfg.JWT.SecretStore, cfg.JWT.SecretID)
	if err != nil {
		return nil, err
	}
	return api.NewVerifierWithSource(ctx, cfg.JWT, src, log)
}
