#ifndef FSPROBE_CRDKAFKA_SHIM_H
#define FSPROBE_CRDKAFKA_SHIM_H
// librdkafka >= 2.8 (older clients fail the first request against some
// brokers); scripts/install-kafka.sh installs it where pkg-config finds it.
#include <librdkafka/rdkafka.h>

// Macros with casts that Swift does not import, as typed constants.
static const int32_t crdkafka_partition_unassigned = RD_KAFKA_PARTITION_UA;
static const int64_t crdkafka_offset_beginning = RD_KAFKA_OFFSET_BEGINNING;
#endif
