package bus

import (
	"math/rand/v2"
	"time"
)

// Backoff returns how long to wait after the attempt-th consecutive failure
// (1-based): lo, doubled with every failure after the first and capped at
// hi, then jittered down by up to half at random so that many clients
// failing together (a broker restart) do not retry together. For that
// step d = min(lo·2^(attempt-1), hi) the result lies in [d/2, d]; it is 0
// when d is not positive. Relay, amqp091 and amqp10 all wait this long
// between attempts.
func Backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		if d > hi/2 {
			d = hi // doubling would pass hi (or overflow)
		} else {
			d *= 2
		}
	}
	d = min(d, hi)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
