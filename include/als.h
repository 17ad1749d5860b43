/* als.h - umbrella header of libals, the SoReg-ALS solver library. */
#ifndef ALS_H
#define ALS_H

#include "als_error.h"
#include "als_options.h"
#include "als_text.h"
#include "als_npy.h"
#include "als_plan.h"
#include "als_planstats.h"
#include "als_dataset.h"
#include "als_kernels.h"
#include "als_exchange.h"
#include "als_metrics.h"
#include "als_solver.h"
#include "als_output.h"
#include "als_sysinfo.h"
#include "als_coldstart.h"
#include "als_cg.h"
#include "als_implicit.h"
#include "als_ranking.h"

#endif
