/*
 * OS types for the ESP32-flavoured compile check: opaque handles, as a
 * FreeRTOS port would provide. Nothing here is linked.
 */
#ifndef MQTT_XS_XTENSA_ARCH_SYS_ARCH_H
#define MQTT_XS_XTENSA_ARCH_SYS_ARCH_H

#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL  NULL

typedef struct mqtt_xs_sys_sem *sys_sem_t;
typedef struct mqtt_xs_sys_mutex *sys_mutex_t;
typedef struct mqtt_xs_sys_mbox *sys_mbox_t;
typedef struct mqtt_xs_sys_thread *sys_thread_t;

#define sys_sem_valid(sem)            (((sem) != NULL) && (*(sem) != NULL))
#define sys_sem_set_invalid(sem)      do { if ((sem) != NULL) { *(sem) = NULL; } } while (0)
#define sys_mutex_valid(mutex)        (((mutex) != NULL) && (*(mutex) != NULL))
#define sys_mutex_set_invalid(mutex)  do { if ((mutex) != NULL) { *(mutex) = NULL; } } while (0)
#define sys_mbox_valid(mbox)          (((mbox) != NULL) && (*(mbox) != NULL))
#define sys_mbox_set_invalid(mbox)    do { if ((mbox) != NULL) { *(mbox) = NULL; } } while (0)

#endif
