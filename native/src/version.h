// version.h: the engine version, recorded in profiles and reported by hkv_version().
#pragma once
#define HKV_VERSION "0.1.0"
