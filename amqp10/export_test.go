package amqp10

// Internals the external tests exercise directly.
var (
	EncodeMessage = encodeMessage
	DecodeMessage = decodeMessage
)
