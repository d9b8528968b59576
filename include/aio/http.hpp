// aio::http — aiohttp's web server and client for aio. Link aio::http.
#pragma once

// First, before any include: without C++20, <coroutine> fails with a misleading hint.
#if __cplusplus < 202002L
#error "aio needs C++20 or later: compile with -std=c++20 (CMake's aio::http target asks for it)"
#endif

#include "aio/http/application.hpp"
#include "aio/http/client.hpp"
#include "aio/http/client_errors.hpp"
#include "aio/http/client_response.hpp"
#include "aio/http/cookie_jar.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/form_data.hpp"
#include "aio/http/header_field.hpp"
#include "aio/http/request.hpp"
#include "aio/http/response.hpp"
#include "aio/http/server.hpp"
#include "aio/http/websocket.hpp"
