/*
 * tools_inproc.c - see tools.h: hsmagent-tools runs them itself.
 */
#include "audit_cmd.h"
#include "certmonger.h"
#include "tools.h"

int
tools_certmonger(int argc, char *argv[], const char *socket_path,
    char *whole[])
{
	(void)whole;
	return certmonger_helper(argc, argv, socket_path);
}

int
tools_audit(int argc, char *argv[], char *whole[])
{
	(void)whole;
	return audit_cmd(argc, argv);
}
