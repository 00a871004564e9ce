/* The version both daemons and the simulator report. */
#ifndef CS_VERSION_H
#define CS_VERSION_H

#define CS_VERSION "0.1.0"

#endif
