/*
 * version.h - the version of hsmagentd and its client, one place for
 * both (the agent reports it in health; the client in IDENTIFY).
 */
#ifndef HSMAGENT_VERSION_H
#define HSMAGENT_VERSION_H

#define HSMAGENT_VERSION	"0.1.0"

#endif
