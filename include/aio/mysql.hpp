// aio::mysql — a non-blocking MySQL/MariaDB client (aiomysql for aio). Link aio::mysql.
//
// It speaks the client/server protocol itself on aio's streams (TLS through start_tls),
// so the loop's backend owns all its I/O; see README.md for why not Connector/C.
#pragma once

#if __cplusplus < 202002L
#error "aio needs C++20 or later: compile with -std=c++20 (CMake's aio::mysql target asks for it)"
#endif

#include "aio/mysql/connection.hpp"
#include "aio/mysql/errors.hpp"
#include "aio/mysql/params.hpp"
#include "aio/mysql/pool.hpp"
#include "aio/mysql/row_view.hpp"
#include "aio/mysql/value.hpp"
