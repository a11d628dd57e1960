package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
)

// logFlags are stream's flags of the tamper-evident log (docs/log.md).
func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-key", Usage: "keep the tamper-evident log, signing its checkpoints with the private key `FILE` (linewatch key generate): every record consumed becomes a leaf, every alert names the tree it was made under and its evidence's leaves; the log is served under /v1/ on the HTTP addresses (docs/log.md)", TakesFile: true},
		&cli.StringFlag{Name: "log-origin", Usage: "the log's `ORIGIN` in its checkpoints, a schema-less URL (default: the name of the --log-key key)"},
		&cli.StringSliceFlag{Name: "witness-key", Usage: "the public key `PUB` of a witness (or a file holding it) whose cosignatures the log gathers and serves with its checkpoint (POST /v1/cosignature); repeat for each"},
		&cli.StringFlag{Name: "log-subject", Value: "linewatch.log.checkpoints", Usage: "with a NATS server at hand, publish each checkpoint of the log to JetStream `SUBJECT` too, with the message id checkpoint:SIZE (\"none\": do not)"},
		&cli.StringFlag{Name: "log-stream", Value: "LINEWATCH_LOG", Usage: "JetStream `STREAM` created for --log-subject if no stream captures the subject"},
	}
}

// checkLogFlags refuses log flags without --log-key.
func (r *streamRun) checkLogFlags() error {
	c := r.c
	if c.String("log-key") != "" {
		return nil
	}
	for _, name := range []string{"log-origin", "witness-key", "log-subject", "log-stream"} {
		if c.IsSet(name) {
			return usageError(c, "--%s is for the log: give its key, --log-key FILE", name)
		}
	}
	return nil
}

// openLog reads the log's key and the witnesses' keys and opens where the
// log is kept: a directory in --state (the embedded default; a directory
// any web server can serve, written with fsync), or, for a group on a
// NATS cluster, JetStream (an object store beside the state bucket), where
// any engine of the group can take it over. It returns nil without
// --log-key.
func (r *streamRun) openLog(ctx context.Context) (*stream.LogConfig, error) {
	c := r.c
	name := c.String("log-key")
	if name == "" {
		return nil, nil
	}
	signer, err := keys.Signer(name)
	if err != nil {
		return nil, unusable(fmt.Errorf("--log-key: %w", err))
	}
	priv, _ := keys.ReadPrivate(name)
	pub, err := keys.Public(priv)
	if err != nil {
		return nil, unusable(fmt.Errorf("--log-key: %w", err))
	}
	verifier, err := keys.ParseVerifier(pub)
	if err != nil {
		return nil, unusable(fmt.Errorf("--log-key: %w", err))
	}
	origin := c.String("log-origin")
	if origin == "" {
		origin = signer.Name()
	}
	if err := tlog.CheckOrigin(origin); err != nil {
		return nil, usageError(c, "--log-origin: %v", err)
	}
	lc := &stream.LogConfig{Origin: origin, Signer: signer, Verifier: verifier}
	for _, arg := range c.StringSlice("witness-key") {
		v, err := witnessKey(arg)
		if err != nil {
			return nil, usageError(c, "--witness-key: %v", err)
		}
		lc.Witnesses = append(lc.Witnesses, v)
	}
	if r.group {
		kv, err := stream.StateBucket(ctx, r.broker.JS, c.String("state-bucket"), c.Int("replicas"))
		if err != nil {
			return nil, unusable(err)
		}
		st, err := stream.OpenJetStreamLog(ctx, r.broker.JS, c.String("state-bucket")+"-log", kv, c.String("consumer"), c.Int("replicas"))
		if err != nil {
			return nil, unusable(err)
		}
		lc.Storage = st
		r.metrics.AddProbe("log", st.Probe)
		r.log.Info("the log is kept in JetStream", "where", st.Where(), "origin", origin)
	} else {
		dir := filepath.Join(c.String("state"), "log")
		if r.inKind == "-" {
			// Standard input cannot be resumed: a log begun by an earlier
			// run would be continued with other records.
			if _, err := os.Stat(filepath.Join(dir, tlog.CheckpointName)); err == nil {
				return nil, unusable(fmt.Errorf("the log in %s holds the records of an earlier run, and standard input cannot continue it: give another --state, or remove %s", dir, dir))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, unusable(err)
			}
		}
		st, err := tlog.NewPackDir(dir)
		if err != nil {
			return nil, unusable(err)
		}
		lc.Storage = st
		r.log.Info("the log is kept in "+dir, "origin", origin)
	}
	if err := r.publishCheckpoints(ctx, lc); err != nil {
		return nil, err
	}
	return lc, nil
}

// witnessKey reads a witness's cosignature key; a witness's plain public
// key (type 0x01) is taken as the cosignature key of the same key.
func witnessKey(arg string) (note.Verifier, error) {
	v, k, err := keys.Verifier(arg)
	if err != nil || keys.IsCosigner(k) {
		return v, err
	}
	ck, err := keys.CosignerKey(k)
	if err != nil {
		return nil, err
	}
	return keys.ParseVerifier(ck)
}

// publishCheckpoints has each new checkpoint of the log published to
// JetStream (--log-subject) when there is a NATS server, with the message
// id checkpoint:SIZE, so that a witness or a mirror can follow the log by
// subscribing; JetStream drops a checkpoint published again (a restart
// publishes a size again only with the same tree: the log never forks).
func (r *streamRun) publishCheckpoints(ctx context.Context, lc *stream.LogConfig) error {
	subject := r.c.String("log-subject")
	if r.broker == nil || subject == "" || subject == "none" {
		return nil
	}
	if err := r.ensureStream(ctx, r.c.String("log-stream"), subject); err != nil {
		return err
	}
	js := r.broker.JS
	lc.Published = func(signed []byte) {
		text, _, _ := strings.Cut(string(signed), "\n\n")
		cp, err := tlog.ParseCheckpoint(text + "\n")
		if err != nil {
			return
		}
		m := &nats.Msg{Subject: subject, Data: signed, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, "checkpoint:"+strconv.FormatUint(cp.Size, 10))
		m.Header.Set(stream.OriginHeader, cp.Origin)
		if _, err := js.PublishMsgAsync(m); err != nil {
			r.log.Warn("could not publish the log's checkpoint to NATS (it is served over HTTP all the same)", "subject", subject, "size", cp.Size, "error", err.Error())
		}
	}
	return nil
}

// mountLog serves the log under /v1/ on mux, if there is one: reads are
// public (any party may mirror the log), a cosignature is taken from the
// witnesses given only, each verified.
func mountLog(mux *http.ServeMux, lc *stream.LogConfig) {
	if lc != nil {
		mux.Handle("/v1/", http.StripPrefix("/v1", lc.Handler()))
	}
}
