// Package bus carries rida's state changes to the outside: the outbox relay
// that publishes committed events at least once, in commit order, with
// stable message ids; the topics and message ids of those events; and the
// in-process bus, which is the default publisher and also tells watchers
// in this process that new events exist.
//
// The broker adapters live in their own packages (amqp091 for RabbitMQ in
// fedora-messaging's conventions, amqp10 for UMB-style brokers and Koji's
// protonmsg); they satisfy Publisher, wait Backoff between connection
// attempts, and read received properties with PlainValue. docs/messages.md
// describes the topics and payloads.
package bus
