#include <aio/aio.hpp>
int main() { return 0; }
