package amqp091

// Internal conversions, exported to the external tests.
var (
	Publishing        = publishing
	DeliveryToMessage = deliveryToMessage
	AMQPConfig        = amqpConfig
)
