// Package jwtsecret fetches the API's HS256 secret from where the operator keeps it: AWS Secrets
// Manager or SSM Parameter Store, by name or ARN, with the function role's permission.
//
// The secret is never put into the function's environment: there it is readable by anyone who
// may read the function's configuration (lambda:GetFunctionConfiguration), and a rotated value
// would never arrive, since a redeploy with an unchanged template is an empty change set. The API
// fetches it at cold start and again, rate-limited, when a token's signature fails to verify
// (api.NewVerifierWithSource), so a rotation takes effect without a deploy. Secrets Manager's own
// guidance is to cache a secret in the application rather than call GetSecretValue per request
// (AWS Secrets Manager User Guide, "Best practices": cache secrets; its caching clients refresh
// after an hour by default); a refetch on a signature failure is that cache's invalidation.
package jwtsecret

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Stores.
const (
	SecretsManager = "secretsmanager"
	SSM            = "ssm"
)

// MinBytes is the shortest HS256 secret the API accepts (the same rule as JWT_SECRET).
const MinBytes = 32

// The clients' methods this package uses.
type secretsClient interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type parameterClient interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var (
	_ secretsClient   = (*secretsmanager.Client)(nil)
	_ parameterClient = (*ssm.Client)(nil)
)

// Source fetches one secret.
type Source struct {
	store, id string
	secrets   secretsClient
	params    parameterClient
}

// New returns a Source for the secret id (name or ARN) in store, with the default AWS
// configuration: the function role's credentials in Lambda. Endpoints follow the SDK's own
// settings, e.g. AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_SSM for a local stand-in.
func New(ctx context.Context, region, store, id string) (*Source, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	s := &Source{store: store, id: id}
	switch store {
	case SecretsManager:
		s.secrets = secretsmanager.NewFromConfig(cfg)
	case SSM:
		s.params = ssm.NewFromConfig(cfg)
	default:
		return nil, fmt.Errorf("unknown secret store %q", store)
	}
	return s, nil
}

// FetchSecret returns the secret's current value: the AWSCURRENT version of a Secrets Manager
// secret's SecretString, or an SSM parameter's value (a SecureString is decrypted).
func (s *Source) FetchSecret(ctx context.Context) ([]byte, error) {
	var v string
	switch {
	case s.secrets != nil:
		out, err := s.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.id)})
		if err != nil {
			return nil, fmt.Errorf("secretsmanager GetSecretValue %s: %w", s.id, err)
		}
		if out.SecretString == nil {
			return nil, fmt.Errorf("secret %s has no SecretString (a binary secret is not supported)", s.id)
		}
		v = *out.SecretString
	case s.params != nil:
		out, err := s.params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.id), WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("ssm GetParameter %s: %w", s.id, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return nil, fmt.Errorf("parameter %s has no value", s.id)
		}
		v = *out.Parameter.Value
	default:
		return nil, errors.New("jwtsecret: Source not built with New")
	}
	if len(v) < MinBytes {
		return nil, fmt.Errorf("secret %s is %d bytes; the HS256 secret must be at least %d", s.id, len(v), MinBytes)
	}
	return []byte(v), nil
}
