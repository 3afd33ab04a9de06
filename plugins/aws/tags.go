package aws

import (
	"context"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// Tag keys on everything the provider creates: the object's id in the
// state and its address in the configuration. Destroy and import find
// resources by them, and a user finds what llmops made in the console.
const (
	tagID      = "llmops:id"
	tagAddress = "llmops:address"
)

// tagsFor returns the tags of a resource made for the object id at address
// (the provider's tags first; llmops' own win).
func (m *meta) tagsFor(id, address string) []smtypes.Tag {
	all := map[string]string{}
	for k, v := range m.tags {
		all[k] = v
	}
	all[tagID] = id
	if address != "" {
		all[tagAddress] = address
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]smtypes.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, smtypes.Tag{Key: awssdk.String(k), Value: awssdk.String(all[k])})
	}
	return out
}

// tagsOf reads the tags of a SageMaker resource by ARN.
func (m *meta) tagsOf(ctx context.Context, arn string) (map[string]string, error) {
	out := map[string]string{}
	var next *string
	for {
		resp, err := m.sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: awssdk.String(arn), NextToken: next})
		if err != nil {
			return nil, err
		}
		for _, t := range resp.Tags {
			out[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
		}
		if resp.NextToken == nil || *resp.NextToken == "" {
			return out, nil
		}
		next = resp.NextToken
	}
}
