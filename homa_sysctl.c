// SPDX-License-Identifier: GPL-2.0

/* The net/homa sysctl directory. Each namespace gets its own copy of the
 * table, pointing at its own struct homa_params, and starts from the
 * defaults below. Writes outside a parameter's range fail with EINVAL and
 * leave the value unchanged (proc_dointvec_minmax).
 */

#include <linux/slab.h>
#include <linux/sysctl.h>

#include "homa_impl.h"

/**
 * struct homa_param_desc - Name, place, default and range of a parameter.
 * @name:   File name under /proc/sys/net/homa.
 * @offset: Offset of the int in struct homa_params.
 * @dflt:   Value a new namespace starts with.
 * @min:    Smallest value accepted.
 * @max:    Largest value accepted.
 */
struct homa_param_desc {
	const char *name;
	size_t offset;
	int dflt;
	int min;
	int max;
};

#define HOMA_PARAM(field, dflt, min, max) \
	{ #field, offsetof(struct homa_params, field), dflt, min, max }

/* Defaults are the ones Homa operators know (see PROTOCOL.md section 5). */
static const struct homa_param_desc homa_param_descs[] = {
	HOMA_PARAM(link_mbps, 25000, 1, 10000000),
	HOMA_PARAM(unsched_bytes, 40000, 1, HOMA_MAX_MESSAGE_LENGTH),
	HOMA_PARAM(window, 0, 0, HOMA_MAX_MESSAGE_LENGTH),
	HOMA_PARAM(max_incoming, 400000, 1, 1000000000),
	HOMA_PARAM(wmem_max, 100000000, 10000, INT_MAX),
	HOMA_PARAM(poll_usecs, 50, 0, 1000000),
	HOMA_PARAM(max_gso_size, 10000, 1500, 65000),
	HOMA_PARAM(tick_usecs, 1000, 100, 1000000),
	HOMA_PARAM(resend_ticks, 5, 1, 100000),
	HOMA_PARAM(resend_interval, 5, 1, 100000),
	HOMA_PARAM(timeout_ticks, 100, 2, 10000000),
	HOMA_PARAM(request_ack_ticks, 2, 1, 100000),
};

#define HOMA_NUM_PARAMS ARRAY_SIZE(homa_param_descs)

static int *homa_param_ptr(struct homa_params *p,
			   const struct homa_param_desc *d)
{
	return (int *)((char *)p + d->offset);
}

/**
 * homa_params_init() - Set every parameter to its default.
 * @p: Parameters to initialise.
 */
void homa_params_init(struct homa_params *p)
{
	int i;

	for (i = 0; i < HOMA_NUM_PARAMS; i++)
		*homa_param_ptr(p, &homa_param_descs[i]) =
			homa_param_descs[i].dflt;
}

/**
 * homa_sysctl_net_init() - Register net/homa for a namespace.
 * @hn: Namespace state; its params must be initialised.
 *
 * Return: 0 or a negative errno.
 */
int homa_sysctl_net_init(struct homa_net *hn)
{
	struct ctl_table *table;
	int i;

	/* One extra, zeroed entry terminates the table. */
	table = kcalloc(HOMA_NUM_PARAMS + 1, sizeof(*table), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (i = 0; i < HOMA_NUM_PARAMS; i++) {
		const struct homa_param_desc *d = &homa_param_descs[i];

		table[i].procname = d->name;
		table[i].data = homa_param_ptr(&hn->params, d);
		table[i].maxlen = sizeof(int);
		table[i].mode = 0644;
		table[i].proc_handler = proc_dointvec_minmax;
		table[i].extra1 = (void *)&d->min;
		table[i].extra2 = (void *)&d->max;
	}
	hn->sysctl_hdr = register_net_sysctl(hn->net, "net/homa", table);
	if (!hn->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	hn->sysctl_table = table;
	return 0;
}

/**
 * homa_sysctl_net_exit() - Unregister a namespace's net/homa.
 * @hn: Namespace state.
 */
void homa_sysctl_net_exit(struct homa_net *hn)
{
	unregister_net_sysctl_table(hn->sysctl_hdr);
	kfree(hn->sysctl_table);
	hn->sysctl_hdr = NULL;
	hn->sysctl_table = NULL;
}
