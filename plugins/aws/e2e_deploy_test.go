package aws

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

const deployHCL = `
variable "api_key" {
  type      = string
  sensitive = true
}
model "base" { source = "file://base" }
deployment "chat" {
  provider = aws
  model    = model.base.id
  replicas = 2
  access { api_keys = [var.api_key] }
  aws {
    image         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:IMAGE"
    instance_type = "ml.m5.large"
  }
}
`

// A deployment on SageMaker: the gateway in front of revision 1's
// endpoint (2 instances), its calls signed; a new image rolls out
// revision 2 blue/green (new endpoint, switch, old one deleted); the
// endpoint deleted behind llmops' back is drift, repaired by the next
// apply; import adopts the deployment; destroy leaves no tagged endpoint.
func TestE2EDeploymentBlueGreen(t *testing.T) {
	w := newE2E(t)
	const key = "sk-aws-e2e-0123456789abcdef"
	// The gateway finds its credentials where the AWS chain looks, never in
	// its environment as keys.
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = GATEWAYKEY\naws_secret_access_key = gateway-secret\n"), 0o600)
	w.extra = []string{"LLMOPS_VAR_api_key=" + key, "AWS_SHARED_CREDENTIALS_FILE=" + creds}
	w.write("base/config.json", `{"arch": "tiny"}`)
	w.write("main.llmops.hcl", w.header()+strings.ReplaceAll(deployHCL, "IMAGE", "1"))
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	dep := w.resources()["deployment.chat"]
	ep1, _ := dep["endpoint_name"].(string)
	if dep["status"] != "serving" || dep["revision"] != 1.0 || !strings.HasPrefix(ep1, "llmops-dep-") {
		t.Fatalf("deployment: %v", dep)
	}
	endpoint := dep["endpoint"].(string)
	if got := chat(t, endpoint, key); got != "served by "+ep1 {
		t.Fatalf("the gateway answered %q, want the endpoint %s", got, ep1)
	}
	w.fake.mu.Lock()
	auth := w.fake.auths[len(w.fake.auths)-1]
	w.fake.mu.Unlock()
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=GATEWAYKEY/") || !strings.Contains(auth, "/us-east-1/sagemaker/aws4_request") {
		t.Fatalf("the call to the endpoint is not signed as it should be: %q", auth)
	}
	smc, _ := w.clients()
	ctx := context.Background()
	ep, err := smc.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: awssdk.String(ep1)})
	if err != nil || awssdk.ToInt32(ep.ProductionVariants[0].DesiredInstanceCount) != 2 {
		t.Fatalf("endpoint %s: %+v %v", ep1, ep, err)
	}
	tags, _ := smc.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: ep.EndpointArn})
	if !hasTag(tags.Tags, tagID, dep["id"].(string)) || !hasTag(tags.Tags, tagAddress, "deployment.chat") {
		t.Fatalf("endpoint tags %v", tags.Tags)
	}

	// Blue/green: a new image is revision 2 on a new endpoint; the old one goes.
	w.write("main.llmops.hcl", w.header()+strings.ReplaceAll(deployHCL, "IMAGE", "2"))
	w.llmops(0, "apply", "-auto-approve")
	dep = w.resources()["deployment.chat"]
	ep2, _ := dep["endpoint_name"].(string)
	if dep["revision"] != 2.0 || ep2 == ep1 || dep["endpoint"] != endpoint {
		t.Fatalf("rollout: %v", dep)
	}
	if got := chat(t, endpoint, key); got != "served by "+ep2 {
		t.Fatalf("after the switch the gateway answered %q, want %s", got, ep2)
	}
	if _, err := smc.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: awssdk.String(ep1)}); err == nil {
		t.Fatalf("the old endpoint %s is left", ep1)
	}

	// Drift: the endpoint deleted behind llmops' back.
	if _, err := smc.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: awssdk.String(ep2)}); err != nil {
		t.Fatal(err)
	}
	r := w.llmops(2, "plan", "-detailed-exitcode")
	if !strings.Contains(r.stdout, "deployment.chat") {
		t.Fatalf("the deleted endpoint must be drift: %s", r)
	}
	w.llmops(0, "apply", "-auto-approve")
	dep = w.resources()["deployment.chat"]
	if dep["status"] != "serving" || dep["endpoint_name"] == ep2 {
		t.Fatalf("repair: %v", dep)
	}
	if got := chat(t, endpoint, key); got != "served by "+dep["endpoint_name"].(string) {
		t.Fatalf("after the repair the gateway answered %q", got)
	}

	// Import: forget the deployment, adopt it again by its id.
	id := dep["id"].(string)
	w.llmops(0, "state", "rm", "deployment.chat")
	w.llmops(0, "import", "deployment.chat", id)
	if r := w.llmops(-1, "plan", "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("after import, nothing to change: %s", r)
	}

	// Destroy: no endpoint of the deployment is left.
	w.llmops(0, "destroy", "-auto-approve")
	list, err := smc.ListEndpoints(ctx, &sagemaker.ListEndpointsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Endpoints {
		if strings.Contains(awssdk.ToString(e.EndpointName), id) {
			t.Errorf("endpoint %s is left after destroy", awssdk.ToString(e.EndpointName))
		}
	}
	w.noCanary()
}

// chat sends one chat completion through the gateway and returns the
// answer's content.
func chat(t *testing.T, endpoint, key string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/chat/completions", strings.NewReader(`{"messages": [{"role": "user", "content": "hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("calling %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Choices) == 0 {
		t.Fatalf("calling %s: HTTP %d, %v", endpoint, resp.StatusCode, err)
	}
	return out.Choices[0].Message.Content
}
