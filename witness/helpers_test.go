package witness_test

import (
	"encoding/base64"

	"github.com/linewatch/linewatch/tlog"
)

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }
