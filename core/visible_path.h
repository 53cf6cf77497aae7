#pragma once
// Whether this process sees a path. On a shared filesystem ranks can disagree for a
// while (attribute caches, a file another rank has just written), so a fact that
// decides which branch the job takes is looked up on rank 0 only and broadcast
// (rank0_sees and broadcast_file_text in dist/communicator.h). Those lookups go
// through visible_here, which has a test hook: SPN_TEST_PHANTOM_PATHS="R:PATH;R:PATH..."
// makes rank R (its OMPI_COMM_WORLD_RANK) see each PATH as existing, as a stale cache
// would, so tests can show that no branch depends on what another rank sees.
#include <filesystem>

namespace spn {

bool visible_here(const std::filesystem::path& path);

}  // namespace spn
