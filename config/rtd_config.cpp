#include "config/rtd_config.h"

#include "config/visitor.h"

namespace spn {

void RtdConfig::visit(ConfigVisitor& v) {
  v.text("text_triplets", text_triplets,
         "the text triplets stage 1 trains on: a JSON file (a list, or one object a line) of objects with "
         "\"reference_caption\", \"conditioning_caption\" and \"target_caption\" strings, RTD's own format; empty: "
         "with data.kind = \"shapes\" each training triplet's reference and target image descriptions around its "
         "modification caption",
         /*may_be_empty=*/true);
  v.real("noise_scale", noise_scale, 0, 100,
         "the reference caption's text feature gets noise_scale * U(0,1) * N(0, I) (one uniform per row) before phi "
         "maps it to the pseudo word (RTD: 0.5)");
  v.real("temperature", temperature, 1e-4, 100, "the temperature of RTD's NT-Xent loss (RTD: 0.07)");
}

}  // namespace spn
