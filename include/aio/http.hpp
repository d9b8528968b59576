// aio::http — aiohttp's web server for aio. Link aio::http.
#pragma once

#include "aio/http/application.hpp"
#include "aio/http/errors.hpp"
#include "aio/http/form_data.hpp"
#include "aio/http/header_field.hpp"
#include "aio/http/request.hpp"
#include "aio/http/response.hpp"
#include "aio/http/server.hpp"
