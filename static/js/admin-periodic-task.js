// The admin's periodic task form (django-celery-beat): under the crontab field, the chosen
// schedule in words. The package's own inline script, as a file for the CSP.
(function ($) {
  "use strict";
  var readableCrontabs = JSON.parse($("#readable-crontabs").text());
  var originalCrontabHelp = JSON.parse($("#crontab-help").text());

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var help = $(".field-crontab .help");
    help.text(originalCrontabHelp);
    help.append($("<br>"), document.createTextNode(
      "Translation: " + (readableCrontabs[$("#id_crontab").val()] || "")
    ));
  });
})(django.jQuery);
