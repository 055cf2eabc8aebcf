package sqlstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/rida-build/rida"
)

// activeStates are the module states the engine still works on, as SQL.
var activeStates = "(" + strconv.Itoa(int(rida.ModuleInit)) + ", " + strconv.Itoa(int(rida.ModuleWait)) + ", " +
	strconv.Itoa(int(rida.ModuleBuilding)) + ", " + strconv.Itoa(int(rida.ModuleDone)) + ")"

var (
	concernedByComponentTaskSQL = `SELECT m.id FROM component_builds c JOIN module_builds m ON m.id = c.module_id
 WHERE c.task_id = ? AND m.state IN ` + activeStates
	concernedByRepoTaskSQL = `SELECT id FROM module_builds WHERE new_repo_task_id = ? AND state IN ` + activeStates
	concernedByTagSQL      = `SELECT id FROM module_builds WHERE koji_tag = ? AND state IN ` + activeStates
)

// ModuleBuildsConcerned returns the ids of the module builds in progress
// (init, wait, build or done) that build-system tasks or tags concern: a
// component built by one of taskIDs, a repository regeneration waited for
// as one of them, or a build whose koji_tag is one of tags. It is how a
// message from the build system finds the builds to wake; unknown tasks and
// tags find nothing.
func (db *DB) ModuleBuildsConcerned(ctx context.Context, taskIDs []int64, tags []string) ([]int64, error) {
	var out []int64
	collect := func(q string, arg any) error {
		rows, err := db.run(nil).query(ctx, q, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	}
	for _, id := range taskIDs {
		if id <= 0 {
			continue
		}
		if err := collect(concernedByComponentTaskSQL, id); err != nil {
			return nil, wrapErr("module builds concerned", err)
		}
		if err := collect(concernedByRepoTaskSQL, id); err != nil {
			return nil, wrapErr("module builds concerned", err)
		}
	}
	for _, tag := range tags {
		if tag == "" {
			continue
		}
		if err := collect(concernedByTagSQL, tag); err != nil {
			return nil, wrapErr("module builds concerned", err)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
