'use strict';
// The staff console (templates/admin/change_list.html): on a phone the list's filters start
// folded into one button, unless one of them is in use; everywhere else they stay open.
{
    const filters = document.querySelector('details.console-filters');
    if (filters !== null) {
        const phone = window.matchMedia('(max-width: 767px)');
        const place = () => {
            filters.open = !phone.matches || filters.dataset.active === 'true';
        };
        place();
        phone.addEventListener('change', place);
    }
}
