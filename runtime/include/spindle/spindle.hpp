// spindle/spindle.hpp — both backends. Include spindle/green.hpp or spindle/clone.hpp
// alone if a program needs only one.
// Explained in: docs/02-the-api.md.
#pragma once

#include "spindle/backend.hpp"
#include "spindle/green.hpp"
