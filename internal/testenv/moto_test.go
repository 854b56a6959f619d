package testenv

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestMotoStopRestart(t *testing.T) {
	m := Moto(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cw := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       MotoRegion,
		Credentials:  m.Credentials(),
		BaseEndpoint: aws.String(m.Endpoint),
		HTTPClient:   &http.Client{Transport: tr},
		Retryer:      aws.NopRetryer{},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	group := aws.String("testenv-moto")
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		t.Fatalf("create log group: %v", err)
	}

	m.Stop(t)
	tr.CloseIdleConnections()
	if _, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err == nil {
		t.Fatal("moto still answers after Stop")
	}

	port := m.Port
	m.Restart(t)
	if m.Port != port {
		t.Errorf("restarted on port %d, want %d", m.Port, port)
	}
	out, err := cw.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatalf("describe log groups after restart: %v", err)
	}
	if len(out.LogGroups) != 0 {
		t.Errorf("log groups after restart: %d, want none (moto keeps state in memory)", len(out.LogGroups))
	}
	_, err = cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: aws.String("s")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("create stream in the forgotten group: %v, want ResourceNotFoundException", err)
	}
}
