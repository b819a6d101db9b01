// Command medicpx-smoke checks a deployment end to end (`make smoke`): upload, ready, student
// listing, representative, s3_url in a real <img>, download, delete. See infra/smoke. Without
// API_URL it checks the local stack of `make run`, with tokens signed by its secret.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"medicpx/infra/smoke"
	"medicpx/infra/stack"
)

func main() {
	var c smoke.Config
	flag.StringVar(&c.APIURL, "api", os.Getenv("API_URL"), "the API's base URL (API_URL)")
	flag.StringVar(&c.ProfessorToken, "professor-token", os.Getenv("PROFESSOR_TOKEN"), "a professor's or admin's token (PROFESSOR_TOKEN)")
	flag.StringVar(&c.StudentToken, "student-token", os.Getenv("STUDENT_TOKEN"), "a student's token (STUDENT_TOKEN)")
	flag.StringVar(&c.Scenario, "scenario", os.Getenv("SMOKE_SCENARIO"), "scenario to upload into (default: a fresh smoke-… one)")
	flag.StringVar(&c.Chromium, "chromium", os.Getenv("CHROMIUM"), "Chromium binary (default /usr/bin/chromium)")
	data := flag.String("data", envOr("LOCAL_DATA", ".local"), "the local stack's data folder, for its tokens when API_URL is not given")
	flag.Parse()
	if c.APIURL == "" {
		if err := local(&c, *data); err != nil {
			fmt.Fprintln(os.Stderr, "medicpx-smoke:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := smoke.Run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "medicpx-smoke:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// local points c at `make run`'s stack: its API address and tokens signed with its secret. It
// never creates a secret: without one there is no local stack to check.
func local(c *smoke.Config, data string) error {
	if _, err := os.Stat(filepath.Join(data, "jwt-secret")); err != nil {
		return fmt.Errorf("no API_URL given and no local stack in %s (start `make run`, or give API_URL, PROFESSOR_TOKEN and STUDENT_TOKEN)", data)
	}
	secret, err := stack.LoadSecret(data)
	if err != nil {
		return err
	}
	c.APIURL = "http://" + envOr("API_ADDR", "127.0.0.1:8080")
	if c.ProfessorToken == "" {
		if c.ProfessorToken, err = stack.Token(secret, "professor"); err != nil {
			return err
		}
	}
	if c.StudentToken == "" {
		if c.StudentToken, err = stack.Token(secret, "student"); err != nil {
			return err
		}
	}
	return nil
}
