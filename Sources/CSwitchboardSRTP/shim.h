#ifndef CSWITCHBOARD_SRTP_SHIM_H
#define CSWITCHBOARD_SRTP_SHIM_H
#include <srtp2/srtp.h>
#endif
