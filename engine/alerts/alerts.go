package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"
)

// Payload is what an alert delivers, as JSON.
type Payload struct {
	Monitor    string    `json:"monitor"`
	Check      string    `json:"check"`
	Value      float64   `json:"value"`
	Bound      float64   `json:"bound"`
	Kind       string    `json:"kind"` // "max" or "min"
	Deployment string    `json:"deployment"`
	Revision   int64     `json:"revision"`
	Time       time.Time `json:"time"`
	// Action is what llmops does about it: "alert" or "rollback".
	Action string `json:"action"`
}

// Target is where an alert goes: a webhook URL or a command (argv).
type Target struct {
	Webhook string
	Command []string
}

func (t Target) String() string {
	if t.Webhook != "" {
		return "webhook " + t.Webhook
	}
	return "command " + strings.Join(t.Command, " ")
}

// Options tune delivery.
type Options struct {
	// Attempts is the number of tries (default 4).
	Attempts int
	// Backoff is the wait before the second try, doubled each time
	// (default 1s).
	Backoff time.Duration
	// Timeout bounds one try (default 10s).
	Timeout time.Duration
	Client  *http.Client
}

// Deliver sends the payload, retrying with backoff. It returns the number
// of attempts made and the last error (nil on success).
func Deliver(ctx context.Context, t Target, p Payload, o Options) (int, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	wait := o.Backoff
	var last error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, o.Timeout)
		last = deliverOnce(actx, t, body, o.Client)
		cancel()
		if last == nil {
			return attempt, nil
		}
		if attempt == o.Attempts || ctx.Err() != nil {
			return attempt, last
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return attempt, last
		}
		wait *= 2
	}
	return o.Attempts, last
}

func deliverOnce(ctx context.Context, t Target, body []byte, c *http.Client) error {
	switch {
	case t.Webhook != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Webhook, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "llmops-watch")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("the webhook answered %s", resp.Status)
		}
		return nil
	case len(t.Command) > 0:
		cmd := exec.CommandContext(ctx, t.Command[0], t.Command[1:]...)
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tail := strings.TrimSpace(string(out))
			if len(tail) > 500 {
				tail = tail[len(tail)-500:]
			}
			return fmt.Errorf("the alert command failed: %v: %s", err, tail)
		}
		return nil
	}
	return fmt.Errorf("the alert block has neither webhook nor command")
}
