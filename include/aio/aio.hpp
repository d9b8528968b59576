// The umbrella header: everything of aio's core.
#pragma once

#include "aio/coro.hpp"
#include "aio/delay.hpp"
#include "aio/errors.hpp"
#include "aio/future.hpp"
#include "aio/gather.hpp"
#include "aio/handle.hpp"
#include "aio/loop.hpp"
#include "aio/outcome.hpp"
#include "aio/runner.hpp"
#include "aio/as_completed.hpp"
#include "aio/shield.hpp"
#include "aio/sleep.hpp"
#include "aio/task.hpp"
#include "aio/task_group.hpp"
#include "aio/timeout.hpp"
#include "aio/wait.hpp"
