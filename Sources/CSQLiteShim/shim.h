#ifndef FSPROBE_CSQLITESHIM_H
#define FSPROBE_CSQLITESHIM_H
#include <sqlite3.h>

// sqlite3_config is variadic, which Swift cannot call. Memory statistics
// (on by default) take a process-wide mutex around every allocation
// SQLite makes, a few per inserted row; fsprobe reads none of them. Only
// takes effect before SQLite's first use in the process (SQLITE_MISUSE
// after, which changes nothing).
static inline int csqlite_disable_memory_statistics(void)
{
	return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
