/*
 * log.h - leveled logging to stderr with a timestamp and the thread's role.
 *
 * The level is process-wide, set once at start (mcu_log_set_level) before threads start;
 * mcu_log() is safe from any thread (one fprintf per line).
 */
#ifndef MCU_LOG_H
#define MCU_LOG_H

enum mcu_log_level { MCU_LOG_ERROR = 0, MCU_LOG_WARN, MCU_LOG_INFO, MCU_LOG_DEBUG };

void mcu_log_set_level(enum mcu_log_level l);
/* Parses "error", "warn", "info", "debug". 0 or -EINVAL. */
int mcu_log_parse_level(const char *s, enum mcu_log_level *out);
void mcu_log(enum mcu_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_E(...) mcu_log(MCU_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) mcu_log(MCU_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) mcu_log(MCU_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) mcu_log(MCU_LOG_DEBUG, __VA_ARGS__)

#endif
