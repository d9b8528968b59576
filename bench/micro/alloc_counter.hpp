// Counts calls of the global operator new (defined in alloc_counter.cpp), so that
// benchmarks can report heap allocations per operation.
#pragma once
long allocations() noexcept;
