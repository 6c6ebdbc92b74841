#ifndef FSPROBE_CRDKAFKA_SHIM_H
#define FSPROBE_CRDKAFKA_SHIM_H
// librdkafka >= 2.8 (older clients fail the first request against some
// brokers); scripts/install-kafka.sh installs it where pkg-config finds it.
#include <librdkafka/rdkafka.h>

// Macros with casts that Swift does not import, as typed constants.
static const int32_t crdkafka_partition_unassigned = RD_KAFKA_PARTITION_UA;
static const int64_t crdkafka_offset_beginning = RD_KAFKA_OFFSET_BEGINNING;
static const int64_t crdkafka_offset_end = RD_KAFKA_OFFSET_END;
static const int64_t crdkafka_offset_stored = RD_KAFKA_OFFSET_STORED;
static const int64_t crdkafka_offset_invalid = RD_KAFKA_OFFSET_INVALID;

// rd_kafka_producev is variadic, which Swift cannot call: one message to
// the topic's partitioner, copied, with one header when `header` is not
// NULL. Returns the error (RD_KAFKA_RESP_ERR_NO_ERROR when queued).
static inline rd_kafka_resp_err_t crdkafka_produce(rd_kafka_t *rk, rd_kafka_topic_t *topic,
                                                   void *value, size_t value_len,
                                                   const void *key, size_t key_len,
                                                   const char *header_name, const void *header, size_t header_len)
{
	rd_kafka_headers_t *headers = NULL;
	rd_kafka_resp_err_t err;

	if (header) {
		headers = rd_kafka_headers_new(1);
		rd_kafka_header_add(headers, header_name, -1, header, (ssize_t)header_len);
	}
	err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
	                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, value_len),
	                        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
	/* The message owns its headers only once queued. */
	if (err && headers)
		rd_kafka_headers_destroy(headers);
	return err;
}
#endif
